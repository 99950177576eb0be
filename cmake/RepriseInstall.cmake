# What `cmake --install` puts beside the libraries that reprise_add_library()
# installs: the exported CMake package, reprise.pc, the documentation, and the
# Debian packages that CPack makes of it all (`./dev package`). Components:
# dev (libraries, headers, .proto, CMake package, reprise.pc) and tools (the
# console, the demo, the man page, bash completion, the documentation).
include(CMakePackageConfigHelpers)

set(REPRISE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Reprise)
install(EXPORT RepriseTargets NAMESPACE Reprise:: DESTINATION ${REPRISE_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/RepriseConfig.cmake.in ${CMAKE_BINARY_DIR}/RepriseConfig.cmake
  INSTALL_DESTINATION ${REPRISE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/RepriseConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/RepriseConfig.cmake ${CMAKE_BINARY_DIR}/RepriseConfigVersion.cmake
        DESTINATION ${REPRISE_CMAKE_DIR} COMPONENT dev)

# reprise.pc: every public library but the transports, dependents first (for
# static linking), relocatable (prefix found from the file's own place). Each
# transport has a .pc of its own that requires reprise, so that a host that
# uses neither needs neither cpp-httplib nor rabbitmq-c.
get_property(libs GLOBAL PROPERTY REPRISE_PUBLIC_LIBRARIES)
list(REMOVE_ITEM libs reprise_http reprise_amqp)
list(REVERSE libs)
list(TRANSFORM libs PREPEND -l)
list(JOIN libs " " REPRISE_PC_LIBS)
if(BUILD_SHARED_LIBS)
  set(REPRISE_PC_REQUIRES_PRIVATE "")
  set(REPRISE_PC_LIBS_PRIVATE "")
else()
  set(REPRISE_PC_REQUIRES_PRIVATE "grpc++ protobuf sqlite3 openssl")
  set(REPRISE_PC_LIBS_PRIVATE "-lgrpc++_reflection -pthread")
  if(REPRISE_WITH_POSTGRES)
    # Not libpq.pc: its static dependencies (pgcommon, pgport) are not in
    # Debian's libpq-dev, and the shared libpq is what a host links.
    string(PREPEND REPRISE_PC_LIBS_PRIVATE "-lpq ")
  endif()
endif()
file(RELATIVE_PATH REPRISE_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" REPRISE_PC_TO_PREFIX "${REPRISE_PC_TO_PREFIX}")
configure_file(cmake/reprise.pc.in ${CMAKE_BINARY_DIR}/reprise.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/reprise.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
# reprise-http.pc, reprise-amqp.pc: a static host also links the transport's
# client library.
foreach(transport IN ITEMS "http;cpp-httplib;HTTP transport (endpoint and webhook sender)"
                           "amqp;librabbitmq;RabbitMQ transport (bindings and senders)")
  list(GET transport 0 REPRISE_PC_PART)
  list(GET transport 1 dependency)
  list(GET transport 2 REPRISE_PC_DESCRIPTION)
  set(REPRISE_PC_REQUIRES_PRIVATE "")
  if(NOT BUILD_SHARED_LIBS)
    set(REPRISE_PC_REQUIRES_PRIVATE ${dependency})
  endif()
  configure_file(cmake/reprise-transport.pc.in ${CMAKE_BINARY_DIR}/reprise-${REPRISE_PC_PART}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/reprise-${REPRISE_PC_PART}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endforeach()

# Stripping (`cmake --install --strip`, the packages) takes the static
# libraries' debug information out too, as Debian's dh_strip does: most of
# their size.
if(NOT BUILD_SHARED_LIBS)
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      file(GLOB archives \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/libreprise_*.a\")
      foreach(archive IN LISTS archives)
        execute_process(COMMAND ${CMAKE_STRIP} --strip-debug --enable-deterministic-archives \${archive}
                        COMMAND_ERROR_IS_FATAL ANY)
      endforeach()
    endif()" COMPONENT dev)
endif()

# Documentation; each package carries the license.
install(FILES README.md LICENSE NOTICE DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT tools)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT tools)
install(FILES LICENSE NOTICE docs/embedding.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/libreprise-dev
        COMPONENT dev)

# Debian packages: libreprise-dev (dev) and reprise (tools).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME reprise)
set(CPACK_PACKAGE_VENDOR "The Reprise authors")
set(CPACK_PACKAGE_CONTACT "The Reprise authors <reprise@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "journal every message a service handles; inspect and reflow them")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libreprise-dev)
set(CPACK_DEBIAN_DEV_DESCRIPTION "Reprise agent library: headers, libraries, CMake package, pkg-config
 The agent a service embeds to journal every message it handles and serve
 Reprise's gRPC API; the API's .proto for clients in other languages.")
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME reprise)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "Reprise console (reprise) and demo service (reprise-demo)
 The operator console of Reprise agents, with its man page and bash
 completion, and the ledger demo service.")
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
# What the installed headers and static libraries need to build a host.
# The transports' client libraries (their headers are not needed, but their
# link libraries are, static or shared).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libgrpc++-dev, libprotobuf-dev, libsqlite3-dev, libssl-dev, librabbitmq-dev, libcpp-httplib-dev")
if(REPRISE_WITH_POSTGRES)
  string(APPEND CPACK_DEBIAN_DEV_PACKAGE_DEPENDS ", libpq-dev")
endif()
if(BUILD_SHARED_LIBS)
  set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libreprise-dev (= ${PROJECT_VERSION})")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
      ${CMAKE_BINARY_DIR}/base ${CMAKE_BINARY_DIR}/store ${CMAKE_BINARY_DIR}/reflow ${CMAKE_BINARY_DIR}/agent
      ${CMAKE_BINARY_DIR}/transports/http ${CMAKE_BINARY_DIR}/transports/amqp)
endif()
include(CPack)
