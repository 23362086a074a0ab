# `cmake --install <build> [--prefix P]`: what an installed coss consists of.
#
#   P/bin/cossd, P/bin/coss                      the server and the tool
#   P/share/man/man1/cossd.1, coss.1             man pages (every cossd option)
#   ETC/coss/cossd.toml                          configuration; kept if it exists
#                                                (ETC = /etc for P=/usr, else P/etc)
#   P/share/doc/coss/examples/cossd.toml         the same example, always refreshed
#   P/share/doc/coss/examples/nutcracker.yml     twemproxy in front of three nodes
#   P/share/doc/coss/examples/haproxy.cfg        haproxy in front of three HTTP nodes
#   P/lib/systemd/system/cossd.service           the hardened service, naming P/bin/cossd
#                                                and ETC/coss/cossd.toml
#   P/share/doc/coss/*.md                        README, architecture, operations
# Paths that depend on P are worked out when installing, so --prefix at install
# time is honoured. COSS_SYSTEMD_UNITDIR (absolute) overrides the unit's folder.
include(GNUInstallDirs)

set(COSS_SYSTEMD_UNITDIR "" CACHE PATH "cossd.service folder (default <prefix>/lib/systemd/system)")

install(TARGETS cossd coss_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES docs/man/cossd.1 docs/man/coss.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES deploy/cossd.toml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
if(EXISTS ${PROJECT_SOURCE_DIR}/deploy/nutcracker/coss-cluster.yml)
  install(FILES deploy/nutcracker/coss-cluster.yml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
          RENAME nutcracker.yml)
endif()
install(FILES deploy/haproxy/coss-http.cfg DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        RENAME haproxy.cfg)
install(FILES README.md docs/ARCHITECTURE.md docs/OPERATIONS.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Install-time part: the unit (paths from the install prefix) and the live
# configuration (installed once, never overwritten: an operator edits it).
install(CODE "
  set(_prefix \"\${CMAKE_INSTALL_PREFIX}\")
  if(_prefix STREQUAL \"/usr\")
    set(_etc \"/etc\")
  else()
    set(_etc \"\${_prefix}/etc\")
  endif()
  set(COSS_INSTALL_BINDIR \"\${_prefix}/${CMAKE_INSTALL_BINDIR}\")
  set(COSS_INSTALL_CONFIG \"\${_etc}/coss/cossd.toml\")
  set(_unitdir \"${COSS_SYSTEMD_UNITDIR}\")
  if(NOT _unitdir)
    set(_unitdir \"\${_prefix}/lib/systemd/system\")
  endif()
  configure_file(\"${PROJECT_SOURCE_DIR}/deploy/systemd/cossd.service.in\"
                 \"${PROJECT_BINARY_DIR}/cossd.service\" @ONLY)
  file(INSTALL \"${PROJECT_BINARY_DIR}/cossd.service\" DESTINATION \"\${_unitdir}\")
  if(EXISTS \"\$ENV{DESTDIR}\${COSS_INSTALL_CONFIG}\")
    message(STATUS \"Keeping: \$ENV{DESTDIR}\${COSS_INSTALL_CONFIG}\")
  else()
    file(INSTALL \"${PROJECT_SOURCE_DIR}/deploy/cossd.toml\" DESTINATION \"\${_etc}/coss\")
  endif()
")
