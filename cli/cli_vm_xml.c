/* cli_vm_xml.c - a libvirt domain from a vm.show object: everything is
 * checked before anything is written, so a refusal prints no half
 * document, and every text is escaped, since a VM or network name may
 * hold any character. */
#include "cli_vm_xml.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One NIC as the domain needs it. */
typedef struct {
    const char *mac;
    unsigned domain, bus, slot, function;
    bool tagged;
    json_int_t vlan;
} s_nic_t;

__attribute__((format(printf, 3, 4))) static int
s_refuse(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* XML 1.0 cannot carry C0 controls but tab, newline and carriage return,
 * not even as character references; DEL is refused too, since the output
 * goes to a terminal as often as to a file. */
static bool s_xml_safe(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* "0000:3b:02.0": domain, bus, slot (device) and function, hex. */
static int s_pci(const char *text, s_nic_t *nic)
{
    int used = 0;
    if (!text || sscanf(text, "%4x:%2x:%2x.%1x%n", &nic->domain, &nic->bus,
                        &nic->slot, &nic->function, &used) != 4)
        return -1;
    if (strlen(text) != 12 || used != 12 || nic->slot > 0x1f ||
        nic->function > 7)
        return -1;
    for (size_t i = 0; i < 12; i++)
        if (i != 4 && i != 7 && i != 10 &&
            !strchr("0123456789abcdefABCDEF", text[i]))
            return -1;
    return 0;
}

static int s_nic(json_t *vm_name, json_t *item, s_nic_t *nic, char *why,
                 size_t size)
{
    const char *name = json_string_value(vm_name);
    json_int_t index = json_integer_value(json_object_get(item, "index"));
    const char *pci = json_string_value(json_object_get(item, "vf_pci"));
    nic->mac = json_string_value(json_object_get(item, "mac"));
    if (!pci)
        return s_refuse(why, size,
                        "vm %s: NIC %" JSON_INTEGER_FORMAT
                        " holds no VF, so there is no device to pass "
                        "through",
                        name, index);
    if (s_pci(pci, nic) != 0)
        return s_refuse(why, size,
                        "vm %s: NIC %" JSON_INTEGER_FORMAT
                        ": VF PCI address \"%s\" is not DDDD:BB:SS.F",
                        name, index, pci);
    if (!nic->mac || !s_xml_safe(nic->mac))
        return s_refuse(why, size,
                        "vm %s: NIC %" JSON_INTEGER_FORMAT
                        " has no MAC XML can carry",
                        name, index);
    json_t *vlan = json_object_get(item, "vlan");
    nic->vlan = json_integer_value(vlan);
    nic->tagged = json_is_integer(vlan) && nic->vlan > 0 &&
                  !json_is_true(json_object_get(item, "trunk"));
    return 0;
}

/* The hugepage size in KiB for "2M" / "1G", 0 for "none" or absent, -1
 * for anything else. */
static long s_hugepage_kib(json_t *vm)
{
    const char *size = json_string_value(json_object_get(vm, "hugepages"));
    if (!size || strcmp(size, "none") == 0)
        return 0;
    if (strcmp(size, "2M") == 0)
        return 2048;
    if (strcmp(size, "1G") == 0)
        return 1048576;
    return -1;
}

/* text with &, <, >, ' and " as entities. */
static void s_text(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*p, out);
        }
    }
}

static void s_interface(FILE *out, const s_nic_t *nic)
{
    fputs("    <interface type='hostdev' managed='yes'>\n"
          "      <mac address='",
          out);
    s_text(out, nic->mac);
    fprintf(out,
            "'/>\n"
            "      <source>\n"
            "        <address type='pci' domain='0x%04x' bus='0x%02x' "
            "slot='0x%02x' function='0x%x'/>\n"
            "      </source>\n",
            nic->domain, nic->bus, nic->slot, nic->function);
    if (nic->tagged)
        fprintf(out,
                "      <vlan>\n"
                "        <tag id='%" JSON_INTEGER_FORMAT "'/>\n"
                "      </vlan>\n",
                nic->vlan);
    fputs("    </interface>\n", out);
}

static void s_domain(FILE *out, const char *name, json_int_t memory_mib,
                     json_int_t vcpus, long page_kib, const s_nic_t *nics,
                     size_t count)
{
    fputs("<domain type='kvm'>\n  <name>", out);
    s_text(out, name);
    fprintf(out,
            "</name>\n"
            "  <memory unit='KiB'>%" JSON_INTEGER_FORMAT "</memory>\n"
            "  <vcpu>%" JSON_INTEGER_FORMAT "</vcpu>\n"
            "  <memoryBacking>\n",
            memory_mib * 1024, vcpus);
    if (page_kib)
        fprintf(out,
                "    <hugepages>\n"
                "      <page size='%ld' unit='KiB'/>\n"
                "    </hugepages>\n",
                page_kib);
    /* A VF does DMA into guest memory: all of it stays resident. */
    fputs("    <locked/>\n"
          "  </memoryBacking>\n"
          "  <os>\n"
          "    <type>hvm</type>\n"
          "  </os>\n"
          "  <devices>\n",
          out);
    for (size_t i = 0; i < count; i++)
        s_interface(out, &nics[i]);
    fputs("  </devices>\n</domain>\n", out);
}

int cli_vm_xml_write(json_t *vm, FILE *out, char *why, size_t size)
{
    json_t *name = json_object_get(vm, "name");
    json_t *nics = json_object_get(vm, "nics");
    json_int_t memory = json_integer_value(json_object_get(vm, "memory_mib"));
    json_int_t vcpus = json_integer_value(json_object_get(vm, "vcpus"));
    long page_kib = s_hugepage_kib(vm);
    if (!json_is_string(name) || !json_is_array(nics) || memory <= 0 ||
        vcpus <= 0 || memory > INT64_MAX / 1024)
        return s_refuse(why, size,
                        "the controller's VM lacks a name, NICs, memory or "
                        "vCPUs");
    if (!s_xml_safe(json_string_value(name)))
        return s_refuse(why, size,
                        "vm %s: the name holds a control character, which "
                        "XML cannot carry",
                        json_string_value(name));
    if (page_kib < 0)
        return s_refuse(why, size, "vm %s: unknown hugepage size",
                        json_string_value(name));
    size_t count = json_array_size(nics);
    if (count == 0)
        return s_refuse(why, size, "vm %s holds no VF: it has no NIC",
                        json_string_value(name));
    s_nic_t *list = calloc(count, sizeof(*list));
    if (!list)
        return s_refuse(why, size, "out of memory");
    for (size_t i = 0; i < count; i++) {
        if (s_nic(name, json_array_get(nics, i), &list[i], why, size) != 0) {
            free(list);
            return -1;
        }
    }
    s_domain(out, json_string_value(name), memory, vcpus, page_kib, list,
             count);
    free(list);
    return 0;
}
