# Run by `cmake --install` (and cpack): installs the systemd units and the
# pool and node configs with this installation's paths. Binaries are in
# PREFIX/bin; configs in /etc for prefix /usr (the package), else PREFIX/etc.
# An existing config is kept: it is the operator's.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(etc_dir "/etc")
else()
  set(etc_dir "${CMAKE_INSTALL_PREFIX}/etc")
endif()
file(MAKE_DIRECTORY "${TPDP_STAGE_DIR}")
foreach(program tpdp-pool tpdp-node)
  file(READ "${TPDP_SOURCE_DIR}/packaging/systemd/${program}.service" unit)
  string(REPLACE "/usr/bin/" "${CMAKE_INSTALL_PREFIX}/bin/" unit "${unit}")
  string(REPLACE "/etc/tpdp/" "${etc_dir}/tpdp/" unit "${unit}")
  file(WRITE "${TPDP_STAGE_DIR}/${program}.service" "${unit}")
  file(INSTALL "${TPDP_STAGE_DIR}/${program}.service"
       DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")

  set(config "${etc_dir}/tpdp/${program}.conf")
  if(EXISTS "$ENV{DESTDIR}${config}")
    message(STATUS "Keeping: $ENV{DESTDIR}${config}")
  else()
    configure_file("${TPDP_SOURCE_DIR}/etc/${program}.conf.example"
                   "${TPDP_STAGE_DIR}/${program}.conf" COPYONLY)
    file(INSTALL "${TPDP_STAGE_DIR}/${program}.conf" DESTINATION "${etc_dir}/tpdp"
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()
endforeach()
