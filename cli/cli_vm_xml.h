/* cli_vm_xml.h - vfleetctl vm xml: the libvirt domain of a placed VM, built
 * from its vm.show object (controller/ADMIN.md), so that the VFs, MACs,
 * VLANs and memory locking libvirt is given are the ones the controller
 * reserved. */
#ifndef VFLEET_CLI_VM_XML_H
#define VFLEET_CLI_VM_XML_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Writes the <domain> of vm to out: name, memory in KiB, vcpu, locked
 * memory (and the hugepage size), os type hvm, and one managed hostdev
 * interface per NIC with its VF's PCI address, its MAC and, unless the
 * network is a trunk or VLAN 0, its VLAN tag. Every text is escaped for
 * XML. Returns 0, or -1 with the reason in why (nothing written): a NIC
 * that holds no VF, a field missing or malformed. */
int cli_vm_xml_write(json_t *vm, FILE *out, char *why, size_t size);

#endif
