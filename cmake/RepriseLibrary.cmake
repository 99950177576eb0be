# reprise_add_library(<part> [INTERNAL|GENERATED] <source>...)
#
# Declares a library of Reprise in the calling folder: target reprise_<part>
# (alias Reprise::<part>), its headers in <folder>/include/reprise/<part>/.
# A public library (the default) is built static or shared (BUILD_SHARED_LIBS)
# with its symbols hidden but for REPRISE_EXPORT (reprise/base/export.h), has
# the SONAME libreprise_<part>.so.<major>, and is installed and exported as
# Reprise::<part> (find_package(Reprise), reprise.pc). An INTERNAL library is
# always static and never installed: it serves the project's own programs.
# GENERATED code (protoc's) is public, keeps default visibility (its users
# need its classes) and is compiled without our warnings.
# Add sources and link dependencies with the usual target_* calls;
# reprise_warnings is added here.
function(reprise_add_library part)
  set(name reprise_${part})
  set(sources ${ARGN})
  list(GET sources 0 kind)
  if(kind MATCHES "^(INTERNAL|GENERATED)$")
    list(POP_FRONT sources)
  else()
    set(kind PUBLIC)
  endif()
  if(kind STREQUAL "INTERNAL")
    add_library(${name} STATIC ${sources})
  else()
    add_library(${name} ${sources})
    set_target_properties(${name} PROPERTIES
      EXPORT_NAME ${part}
      VERSION ${PROJECT_VERSION}
      SOVERSION ${PROJECT_VERSION_MAJOR})
    if(kind STREQUAL "PUBLIC")
      set_target_properties(${name} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
    endif()
    if(REPRISE_INSTALL)
      install(TARGETS ${name} EXPORT RepriseTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
      if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include/reprise/${part})
        install(DIRECTORY include/reprise/${part} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/reprise
                COMPONENT dev)
      endif()
      set_property(GLOBAL APPEND PROPERTY REPRISE_PUBLIC_LIBRARIES ${name})
    endif()
  endif()
  add_library(Reprise::${part} ALIAS ${name})
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_include_directories(${name} PUBLIC
      $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endif()
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  if(NOT kind STREQUAL "GENERATED")
    # BUILD_INTERFACE: the warnings are ours, not an installed host's.
    target_link_libraries(${name} PRIVATE $<BUILD_INTERFACE:reprise_warnings>)
  endif()
endfunction()
