# cmake --install: headers as <axon/...>, the library, and a CMake package (find_package(axon)).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(dir core kernels layers optim train)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/include/axon)
    install(DIRECTORY ${dir}/include/axon DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()

install(TARGETS axon EXPORT axonTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Private link dependencies of a static libaxon must be exported too.
foreach(t axon_openblas axon_cudnn)
  if(TARGET ${t})
    install(TARGETS ${t} EXPORT axonTargets)
  endif()
endforeach()
# The C ABI (axon_c.h, axon/dlpack.hpp) and the Fortran module (axon.mod and its source).
install(FILES c_api/include/axon_c.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES c_api/include/axon/dlpack.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/axon)
if(TARGET axon_fortran)
  install(TARGETS axon_fortran EXPORT axonTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/fortran/mod/axon.mod fortran/axon.f90
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/axon/fortran)
endif()
install(EXPORT axonTargets NAMESPACE axon:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/axon)

set(AXON_INSTALLED_WITH_CUDA ${AXON_WITH_CUDA})
configure_package_config_file(cmake/axonConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/axonConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/axon)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/axonConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/axonConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/axonConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/axon)
if(TARGET axon-bench)
  install(TARGETS axon-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
