# Debian packages with CPack: `cmake --build build --target package` makes
# vfleet-agent, vfleet-controller and vfleetctl .debs from the install
# components of deploy/CMakeLists.txt. Dependencies come from
# dpkg-shlibdeps, never by hand.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vfleet)
set(CPACK_PACKAGE_VENDOR "vfleet")
set(CPACK_PACKAGE_CONTACT "vfleet developers <vfleet@example.org>")
# Packages ship stripped binaries, as Debian's do.
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# /etc/vfleet and /lib/systemd/system are absolute destinations: staged
# under DESTDIR, with /usr as the prefix of everything else.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent controller vfleetctl)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://vfleet.invalid/")

set(s_debian ${PROJECT_SOURCE_DIR}/deploy/debian)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME vfleet-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_AGENT_DESCRIPTION
    "vfleet host agent: discovers SR-IOV PFs and VFs, applies VF settings
vfleet-agent runs on every hypervisor host of a vfleet cluster. It reads
the host's SR-IOV physical and virtual functions, IOMMU readiness and
memory, reports them to the vfleet controller, and applies the VF
settings (MAC, VLAN, rates, spoof-check, trust), VF counts and hugepage
pools the controller asks for.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${s_debian}/agent/postinst;${s_debian}/agent/postrm;${s_debian}/agent/conffiles")

set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME vfleet-controller)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_CONTROLLER_DESCRIPTION
    "vfleet controller: SR-IOV inventory and VM placement
vfleet-controller keeps the inventory of a vfleet cluster's hosts, PFs and
VFs in SQLite, validates and versions the VF policy, places virtual
machines that need SR-IOV NICs and pushes the desired VF state to the
hosts' agents.")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_CONTROL_EXTRA
    "${s_debian}/controller/postinst;${s_debian}/controller/postrm;${s_debian}/controller/conffiles")

set(CPACK_DEBIAN_VFLEETCTL_PACKAGE_NAME vfleetctl)
set(CPACK_DEBIAN_VFLEETCTL_DESCRIPTION
    "vfleet command-line client: policy validation and cluster admin
vfleetctl validates and diffs vfleet policy files offline, and lists
hosts, PFs, VFs and events, and applies policies, through a vfleet
controller's admin API.")

include(CPack)
