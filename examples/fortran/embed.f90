! axon from Fortran (module axon): load a model file, evaluate it on the program's own real(8)
! arrays in place, get the gradient of the outputs' sum with respect to the inputs. Checks the numbers
! against what the C++ API computed on the same file (example_embed_model writes both):
!   example_embed_model model.safetensors expected.txt && example_embed_fortran model.safetensors expected.txt
program embed
  use iso_c_binding
  use axon
  implicit none
  character(len=1024) :: model_file, expected_file
  integer :: batch, features, outputs, unit
  real(8), allocatable, target :: x(:, :), y(:, :), g(:, :)
  real(8), allocatable :: y_want(:, :), g_want(:, :)
  logical :: ok

  if (command_argument_count() /= 2) stop "usage: example_embed_fortran MODEL_FILE EXPECTED_TXT"
  call get_command_argument(1, model_file)
  call get_command_argument(2, expected_file)
  ! The C++ API's values in C order: a Fortran array (features, batch) holds them as they come.
  open(newunit=unit, file=trim(expected_file), status="old", action="read")
  read(unit, *) batch, features, outputs
  allocate(x(features, batch), y(outputs, batch), g(features, batch))
  allocate(y_want(outputs, batch), g_want(features, batch))
  read(unit, *) x, y_want, g_want
  close(unit)
  print "(a, a)", "axon ", axon_version()

  call evaluate(trim(model_file), x, y, g)
  ok = compare("outputs", y, y_want) .and. compare("gradient", g, g_want)
  if (.not. ok) then
    print "(a)", "Fortran example: FAILED"
    stop 1
  end if
  print "(a)", "Fortran example: OK"

contains

  ! snippet-begin: embed
  subroutine evaluate(path, x, y, g)
    character(len=*), intent(in) :: path
    real(8), intent(inout), target, contiguous :: x(:, :), y(:, :), g(:, :)  ! (features, batch) ...
    type(c_ptr) :: model, tx, ty, tg
    call check(axon_model_load(path, AXON_CPU, 0, model))
    call check(axon_tensor_wrap(x, tx))  ! tensors over the arrays, no copy
    call check(axon_tensor_wrap(y, ty))
    call check(axon_tensor_wrap(g, tg))
    call check(axon_model_predict_into(model, 1, [tx], ty))                          ! y = model(x)
    call check(axon_model_input_gradients(model, 1, [tx], c_null_ptr, c_null_ptr, [tg]))  ! g = d sum(y)/dx
    call check(axon_tensor_destroy(tx) + axon_tensor_destroy(ty) + axon_tensor_destroy(tg))
    call check(axon_model_destroy(model))
  end subroutine

  subroutine check(status)
    integer(c_int), intent(in) :: status
    if (status /= AXON_OK) then
      print "(a, a)", "axon: ", axon_last_error()
      stop 1
    end if
  end subroutine
  ! snippet-end: embed

  logical function compare(what, got, want)
    character(len=*), intent(in) :: what
    real(8), intent(in) :: got(:, :), want(:, :)
    real(8) :: worst
    worst = maxval(abs(got - want) / (1 + abs(want)))
    print "(a, a, es10.3)", what, ": max relative difference to the C++ API: ", worst
    compare = worst <= 1d-12
  end function

end program embed
