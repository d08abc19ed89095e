# cmake --install: headers as <axon/...>, the library, and a CMake package (find_package(axon)).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Public headers only: kernels/include (axon/kernels/*.hpp) is internal, no public header includes it.
foreach(dir core layers optim train dist)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/include/axon)
    install(DIRECTORY ${dir}/include/axon DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()

install(TARGETS axon EXPORT axonTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The CUDA backend that libaxon.so opens at run time, installed next to it (no one links it).
if(TARGET axon_cuda)
  install(TARGETS axon_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_SKIP)
endif()
# Private link dependencies of a static libaxon must be exported too.
foreach(t axon_openblas axon_cudnn axon_dnnl)
  if(TARGET ${t})
    install(TARGETS ${t} EXPORT axonTargets)
  endif()
endforeach()
# axon::dist: its own library (links MPI, and NCCL when built with it); not built without MPI.
if(TARGET axon_dist)
  install(TARGETS axon_dist EXPORT axonTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
# axon::onnx (interop/onnx), when built.
if(TARGET axon_onnx)
  install(DIRECTORY interop/onnx/include/axon DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(TARGETS axon_onnx EXPORT axonTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
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
# Only a static CUDA build hands the CUDA libraries to the consumer's link.
if(AXON_WITH_CUDA AND NOT BUILD_SHARED_LIBS)
  set(AXON_INSTALLED_LINKS_CUDA ON)
else()
  set(AXON_INSTALLED_LINKS_CUDA OFF)
endif()
set(AXON_INSTALLED_WITH_MPI ${AXON_WITH_MPI})
set(AXON_INSTALLED_WITH_ONNX ${AXON_WITH_ONNX})
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
