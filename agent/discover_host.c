/* discover_host.c - host identity, IOMMU readiness and memory. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_text.h"
#include "discover_internal.h"
#include "sysfs_attr.h"

typedef enum { CPU_VENDOR_OTHER, CPU_VENDOR_INTEL, CPU_VENDOR_AMD } s_vendor_t;

static void s_reason(vfp_host_t *host, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_reason(vfp_host_t *host, const char *fmt, ...)
{
    if (host->reason_count >= VFP_REASONS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(host->reasons[host->reason_count], sizeof(host->reasons[0]), fmt,
              ap);
    va_end(ap);
    host->reason_count++;
}

static void s_read_ids(const char *procfs, const char *hostname,
                       vfp_host_t *host, discover_warnings_t *warnings)
{
    char dir[PATH_MAX];
    char why[256];
    if (agent_text_path_join(dir, sizeof(dir), procfs, "sys/kernel", NULL)) {
        discover_warn(warnings, "procfs root: path too long");
        return;
    }
    if (hostname)
        agent_text_copy(host->hostname, sizeof(host->hostname), hostname);
    else if (sysfs_attr_read_str(dir, "hostname", host->hostname,
                                 sizeof(host->hostname), why, sizeof(why)))
        discover_warn(warnings, "host name unknown: %s", why);
    if (sysfs_attr_read_str(dir, "osrelease", host->kernel,
                            sizeof(host->kernel), why, sizeof(why)))
        discover_warn(warnings, "kernel release unknown: %s", why);
    if (sysfs_attr_read_str(dir, "random/boot_id", host->boot_id,
                            sizeof(host->boot_id), why, sizeof(why)))
        discover_warn(warnings, "boot id unknown: %s", why);
}

/* CPU vendor and virtualisation flag from the first processor's entry:
 * every processor of one host reports the same. */
static int s_read_cpu(const char *procfs, vfp_host_t *host, s_vendor_t *vendor,
                      char *why, size_t whylen)
{
    char path[PATH_MAX];
    *vendor = CPU_VENDOR_OTHER;
    host->cpu_virt = VFP_VIRT_NONE;
    if (agent_text_path_join(path, sizeof(path), procfs, "cpuinfo", NULL)) {
        snprintf(why, whylen, "cpuinfo: path too long");
        return -1;
    }
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(why, whylen, "cpuinfo: %s", strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    bool seen_flags = false;
    while (!seen_flags && getline(&line, &cap, f) > 0) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        if (!strncmp(line, "vendor_id", 9)) {
            if (strstr(colon, "GenuineIntel"))
                *vendor = CPU_VENDOR_INTEL;
            else if (strstr(colon, "AuthenticAMD"))
                *vendor = CPU_VENDOR_AMD;
        } else if (!strncmp(line, "flags", 5)) {
            seen_flags = true;
            char *save = NULL;
            for (char *tok = strtok_r(colon + 1, " \t\n", &save); tok;
                 tok = strtok_r(NULL, " \t\n", &save)) {
                if (!strcmp(tok, "vmx"))
                    host->cpu_virt = VFP_VIRT_VMX;
                else if (!strcmp(tok, "svm"))
                    host->cpu_virt = VFP_VIRT_SVM;
            }
        }
    }
    free(line);
    fclose(f);
    if (!seen_flags) {
        snprintf(why, whylen, "cpuinfo: no flags line");
        return -1;
    }
    return 0;
}

static bool s_is_iommu_option(const char *tok)
{
    return !strncmp(tok, "intel_iommu=", 12) ||
           !strncmp(tok, "amd_iommu=", 10) || !strncmp(tok, "iommu=", 6) ||
           !strncmp(tok, "iommu.", 6);
}

/* True when a comma-separated option value contains the item "off". */
static bool s_value_has_off(const char *tok)
{
    const char *value = strchr(tok, '=');
    if (!value)
        return false;
    char copy[256];
    agent_text_copy(copy, sizeof(copy), value + 1);
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save))
        if (!strcmp(item, "off"))
            return true;
    return false;
}

/* Whether option tok (an IOMMU option) is for the other vendor's IOMMU,
 * which the kernel ignores on this CPU: amd_iommu= on Intel, intel_iommu=
 * on AMD. */
static bool s_other_vendor(const char *tok, s_vendor_t vendor)
{
    return (vendor == CPU_VENDOR_INTEL && !strncmp(tok, "amd_iommu=", 10)) ||
           (vendor == CPU_VENDOR_AMD && !strncmp(tok, "intel_iommu=", 12));
}

/* Collects the IOMMU options of the kernel command line into
 * host->iommu_cmdline and names the option that turns it off, if any:
 * iommu=off, or the off of the CPU vendor's own option (either vendor's
 * when the vendor is unknown). */
static int s_read_cmdline(const char *procfs, s_vendor_t vendor,
                          vfp_host_t *host, char *off, size_t offlen,
                          bool *intel_on, char *why, size_t whylen)
{
    char cmdline[4096];
    *off = '\0';
    *intel_on = false;
    if (sysfs_attr_read_str(procfs, "cmdline", cmdline, sizeof(cmdline), why,
                            whylen))
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(cmdline, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        if (!strcmp(tok, "--"))
            break; /* the rest belongs to init, not to the kernel */
        if (!s_is_iommu_option(tok))
            continue;
        agent_text_note_append(host->iommu_cmdline, sizeof(host->iommu_cmdline),
                               "%s", tok);
        if (!strncmp(tok, "iommu.", 6))
            continue;
        if (s_value_has_off(tok) && !*off && !s_other_vendor(tok, vendor))
            agent_text_copy(off, offlen, tok);
        if (!strncmp(tok, "intel_iommu=", 12) && strstr(tok, "on"))
            *intel_on = true;
    }
    /* agent_text_note_append separates with "; ": the command line reads with
     * spaces */
    for (char *p = host->iommu_cmdline; (p = strstr(p, "; "));)
        memmove(p, p + 1, strlen(p + 1) + 1);
    return 0;
}

static const char *s_enable_hint(s_vendor_t vendor, bool intel_on)
{
    switch (vendor) {
    case CPU_VENDOR_INTEL:
        return intel_on ? "intel_iommu=on is already set, so VT-d is off "
                          "in firmware or the platform has none"
                        : "enable VT-d in firmware and boot with "
                          "intel_iommu=on";
    case CPU_VENDOR_AMD:
        return "enable AMD-Vi (IOMMU) in firmware; the kernel turns it on by "
               "default unless amd_iommu=off";
    default:
        return "enable VT-d or AMD-Vi in firmware and boot with intel_iommu=on "
               "(Intel) or amd_iommu=on (AMD)";
    }
}

static void s_read_iommu(const char *sysfs, const char *procfs,
                         vfp_host_t *host)
{
    char dir[PATH_MAX];
    char why[256];
    char **names = NULL;
    int units = -1, groups = -1;
    char units_why[256] = "", groups_why[256] = "";

    if (agent_text_path_join(dir, sizeof(dir), sysfs, "class/iommu", NULL) == 0)
        units = sysfs_attr_dir_list(dir, NULL, &names, units_why,
                                    sizeof(units_why));
    sysfs_attr_names_free(&names);
    if (agent_text_path_join(dir, sizeof(dir), sysfs, "kernel/iommu_groups",
                             NULL) == 0)
        groups = sysfs_attr_dir_list(dir, NULL, &names, groups_why,
                                     sizeof(groups_why));
    sysfs_attr_names_free(&names);
    host->iommu_units =
        units > 0 ? (uint16_t)(units > 65535 ? 65535 : units) : 0;
    host->iommu_groups = groups > 0 ? (uint32_t)groups : 0;

    s_vendor_t vendor = CPU_VENDOR_OTHER;
    char off[256], cpu_why[256];
    bool intel_on = false;
    /* The vendor first: it says which command line options count. */
    int cpu_rc = s_read_cpu(procfs, host, &vendor, cpu_why, sizeof(cpu_why));
    if (s_read_cmdline(procfs, vendor, host, off, sizeof(off), &intel_on, why,
                       sizeof(why)))
        s_reason(host,
                 "kernel command line unknown (%s): cannot tell "
                 "whether the IOMMU was turned off",
                 why);
    else if (*off)
        s_reason(host,
                 "kernel command line has %s: the kernel does not use "
                 "the IOMMU",
                 off);
    if (cpu_rc)
        s_reason(host, "CPU virtualisation unknown (%s)", cpu_why);
    else if (host->cpu_virt == VFP_VIRT_NONE)
        s_reason(host, "CPU flags in cpuinfo have neither vmx nor svm: "
                       "hardware virtualisation is off in firmware or not "
                       "passed to this virtual machine");

    if (groups < 0)
        s_reason(host, "no IOMMU groups (%s): %s", groups_why,
                 s_enable_hint(vendor, intel_on));
    else if (groups == 0)
        s_reason(host, "no IOMMU groups in /sys/kernel/iommu_groups: %s",
                 s_enable_hint(vendor, intel_on));
    if (units < 0)
        s_reason(host, "no IOMMU units (%s)", units_why);
    else if (units == 0)
        s_reason(host, "no IOMMU units in /sys/class/iommu: the kernel "
                       "found no DMA remapping hardware (ACPI DMAR/IVRS)");
    host->iommu_ready = host->reason_count == 0;
}

/* Reads "Key:   1234 kB" from meminfo. */
static int s_meminfo_value(const char *text, const char *key, uint64_t *kb)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p;
         p = strchr(p, '\n'), p = p ? p + 1 : p) {
        if (strncmp(p, key, klen) || p[klen] != ':')
            continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p + klen + 1, &end, 10);
        if (errno || end == p + klen + 1 || strncmp(end, " kB", 3))
            return -1;
        *kb = v;
        return 0;
    }
    return -1;
}

/* Total and available memory from /proc/meminfo. */
static void s_read_meminfo(const char *procfs, vfp_host_t *host,
                           discover_warnings_t *warnings)
{
    char why[256];
    char meminfo[8192];
    if (sysfs_attr_read_str(procfs, "meminfo", meminfo, sizeof(meminfo), why,
                            sizeof(why))) {
        discover_warn(warnings, "memory unknown: %s", why);
        return;
    }
    if (s_meminfo_value(meminfo, "MemTotal", &host->mem_total_kb))
        discover_warn(warnings, "meminfo: no readable MemTotal");
    if (s_meminfo_value(meminfo, "MemAvailable", &host->mem_available_kb))
        discover_warn(warnings, "meminfo: no readable MemAvailable");
}

/* One pool directory ("hugepages-2048kB") into the next slot of host.
 * Returns -1 when the host already has every pool it can report. */
static int s_read_pool(const char *dir, const char *name, vfp_host_t *host,
                       discover_warnings_t *warnings)
{
    char why[256];
    char pool[PATH_MAX];
    unsigned long size_kb;
    char unit[4] = "";
    long total, free_pages;
    if (sscanf(name, "hugepages-%lu%3s", &size_kb, unit) != 2 ||
        strcmp(unit, "kB") || size_kb == 0 || size_kb > UINT32_MAX) {
        discover_warn(warnings, "hugepages: unexpected entry '%.64s'", name);
        return 0;
    }
    if (host->hugepage_count >= VFP_HUGEPAGES_MAX) {
        discover_warn(warnings, "hugepages: more than %d pool sizes",
                      VFP_HUGEPAGES_MAX);
        return -1;
    }
    if (agent_text_path_join(pool, sizeof(pool), dir, name, NULL) ||
        sysfs_attr_read_long(pool, "nr_hugepages", 0, LONG_MAX, &total, why,
                             sizeof(why)) ||
        sysfs_attr_read_long(pool, "free_hugepages", 0, LONG_MAX, &free_pages,
                             why, sizeof(why))) {
        discover_warn(warnings, "%s: %s", name, why);
        return 0;
    }
    if (free_pages > total) {
        /* The controller refuses a pool with more free pages than pages. */
        discover_warn(warnings,
                      "%s: free_hugepages %ld above nr_hugepages %ld: "
                      "free reported as %ld",
                      name, free_pages, total, total);
        free_pages = total;
    }
    vfp_hugepages_t *hp = &host->hugepages[host->hugepage_count++];
    hp->size_kb = (uint32_t)size_kb;
    hp->total = (uint64_t)total;
    hp->free = (uint64_t)free_pages;
    return 0;
}

static void s_read_memory(const char *sysfs, const char *procfs,
                          vfp_host_t *host, discover_warnings_t *warnings)
{
    char why[256];
    char dir[PATH_MAX];
    char **names = NULL;
    s_read_meminfo(procfs, host, warnings);
    if (agent_text_path_join(dir, sizeof(dir), sysfs, "kernel/mm/hugepages",
                             NULL))
        return;
    int n = sysfs_attr_dir_list(dir, NULL, &names, why, sizeof(why));
    if (n < 0) {
        discover_warn(warnings, "hugepages unknown: %s", why);
        return;
    }
    for (int i = 0; i < n; i++)
        if (s_read_pool(dir, names[i], host, warnings))
            break;
    sysfs_attr_names_free(&names);
    /* Directory order is lexical ("1048576kB" before "2048kB"): by size */
    for (uint32_t i = 1; i < host->hugepage_count; i++)
        for (uint32_t j = i; j > 0 && host->hugepages[j - 1].size_kb >
                                          host->hugepages[j].size_kb;
             j--) {
            vfp_hugepages_t t = host->hugepages[j];
            host->hugepages[j] = host->hugepages[j - 1];
            host->hugepages[j - 1] = t;
        }
}

void discover_host_facts(const char *sysfs, const char *procfs,
                         const char *hostname, vfp_host_t *host,
                         discover_warnings_t *warnings)
{
    s_read_ids(procfs, hostname, host, warnings);
    s_read_iommu(sysfs, procfs, host);
    s_read_memory(sysfs, procfs, host, warnings);
}
