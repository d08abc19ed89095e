! Module axon: Fortran bindings of axon's C ABI (axon_c.h), through iso_c_binding.
!
! Handles are type(c_ptr); every function returns an integer(c_int) status (AXON_OK = 0), with the
! message in axon_last_error(). Arrays are passed without a copy: axon_tensor_wrap(x, t) makes a tensor
! over a contiguous real(8) array, so predictions and gradients written "into" it land in the array.
! Fortran is column-major: an array x(n_features, n_batch) is the C-order tensor of shape
! [n_batch, n_features], the layout a model with input shape {-1, n_features} takes.
module axon
  use iso_c_binding
  implicit none
  private

  integer(c_int), parameter, public :: AXON_OK = 0, AXON_ERROR_INVALID_ARGUMENT = 1, AXON_ERROR = 2, &
                                       AXON_ERROR_OUT_OF_MEMORY = 3, AXON_ERROR_UNKNOWN = 4
  integer(c_int), parameter, public :: AXON_F32 = 0, AXON_F64 = 1, AXON_I32 = 4, AXON_I64 = 5
  integer(c_int), parameter, public :: AXON_CPU = 0, AXON_CUDA = 1
  integer(c_int), parameter, public :: AXON_LOSS_FROM_LOGITS = 1, AXON_LOSS_SPARSE = 2

  public :: axon_version, axon_last_error, axon_abi_version
  public :: axon_tensor_wrap, axon_tensor_destroy, axon_tensor_copy
  public :: axon_model_load, axon_model_save, axon_model_destroy
  public :: axon_model_predict_into, axon_model_input_gradients
  public :: axon_optimizer_create, axon_optimizer_destroy, axon_train_step
  public :: axon_set_stream

  ! Tensors over real(8) arrays of rank 1 to 3.
  interface axon_tensor_wrap
    module procedure wrap_r8_1, wrap_r8_2, wrap_r8_3
  end interface

  interface
    integer(c_int) function axon_abi_version() bind(C, name="axon_abi_version")
      import :: c_int
    end function
    type(c_ptr) function c_version() bind(C, name="axon_version")
      import :: c_ptr
    end function
    type(c_ptr) function c_last_error() bind(C, name="axon_last_error")
      import :: c_ptr
    end function
    integer(c_size_t) function c_strlen(s) bind(C, name="strlen")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
    end function
    integer(c_int) function axon_set_stream(device_index, stream) bind(C, name="axon_set_stream")
      import :: c_int, c_ptr
      integer(c_int), value :: device_index
      type(c_ptr), value :: stream
    end function
    integer(c_int) function c_tensor_from_data(data, ndim, shape, strides, dtype, device_type, device_index, &
                                               deleter, deleter_context, out) bind(C, name="axon_tensor_from_data")
      import :: c_int, c_ptr, c_int64_t, c_funptr
      type(c_ptr), value :: data
      integer(c_int), value :: ndim, dtype, device_type, device_index
      integer(c_int64_t), intent(in) :: shape(*)
      type(c_ptr), value :: strides, deleter_context
      type(c_funptr), value :: deleter
      type(c_ptr), intent(out) :: out
    end function
    integer(c_int) function axon_tensor_destroy(t) bind(C, name="axon_tensor_destroy")
      import :: c_int, c_ptr
      type(c_ptr), value :: t
    end function
    integer(c_int) function axon_tensor_copy(src, dst) bind(C, name="axon_tensor_copy")
      import :: c_int, c_ptr
      type(c_ptr), value :: src, dst
    end function
    integer(c_int) function c_model_load(path, device_type, device_index, out) bind(C, name="axon_model_load")
      import :: c_int, c_ptr, c_char
      character(kind=c_char), intent(in) :: path(*)
      integer(c_int), value :: device_type, device_index
      type(c_ptr), intent(out) :: out
    end function
    integer(c_int) function c_model_save(model, path) bind(C, name="axon_model_save")
      import :: c_int, c_ptr, c_char
      type(c_ptr), value :: model
      character(kind=c_char), intent(in) :: path(*)
    end function
    integer(c_int) function axon_model_destroy(model) bind(C, name="axon_model_destroy")
      import :: c_int, c_ptr
      type(c_ptr), value :: model
    end function
    integer(c_int) function axon_model_predict_into(model, n_inputs, inputs, output) bind(C, name="axon_model_predict_into")
      import :: c_int, c_ptr
      type(c_ptr), value :: model, output
      integer(c_int), value :: n_inputs
      type(c_ptr), intent(in) :: inputs(*)
    end function
    ! cotangent and output may be c_null_ptr (the gradient of sum(output); no output wanted).
    integer(c_int) function axon_model_input_gradients(model, n_inputs, inputs, cotangent, output, input_grads) &
        bind(C, name="axon_model_input_gradients")
      import :: c_int, c_ptr
      type(c_ptr), value :: model, cotangent, output
      integer(c_int), value :: n_inputs
      type(c_ptr), intent(in) :: inputs(*), input_grads(*)
    end function
    integer(c_int) function c_optimizer_create(model, optimizer, learning_rate, loss, loss_flags, out) &
        bind(C, name="axon_optimizer_create")
      import :: c_int, c_ptr, c_char, c_double
      type(c_ptr), value :: model
      character(kind=c_char), intent(in) :: optimizer(*), loss(*)
      real(c_double), value :: learning_rate
      integer(c_int), value :: loss_flags
      type(c_ptr), intent(out) :: out
    end function
    integer(c_int) function axon_optimizer_destroy(opt) bind(C, name="axon_optimizer_destroy")
      import :: c_int, c_ptr
      type(c_ptr), value :: opt
    end function
    integer(c_int) function axon_train_step(opt, x, y, loss) bind(C, name="axon_train_step")
      import :: c_int, c_ptr, c_double
      type(c_ptr), value :: opt, x, y
      real(c_double), intent(out) :: loss
    end function
  end interface

contains

  function from_c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    n = int(c_strlen(p))
    allocate(character(len=n) :: s)
    call c_f_pointer(p, chars, [n])
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function

  function axon_version() result(s)
    character(len=:), allocatable :: s
    s = from_c_string(c_version())
  end function

  ! The message of this thread's last failed call.
  function axon_last_error() result(s)
    character(len=:), allocatable :: s
    s = from_c_string(c_last_error())
  end function

  integer(c_int) function axon_model_load(path, device_type, device_index, model)
    character(len=*), intent(in) :: path
    integer(c_int), intent(in) :: device_type, device_index
    type(c_ptr), intent(out) :: model
    axon_model_load = c_model_load(trim(path) // c_null_char, device_type, device_index, model)
  end function

  integer(c_int) function axon_model_save(model, path)
    type(c_ptr), intent(in) :: model
    character(len=*), intent(in) :: path
    axon_model_save = c_model_save(model, trim(path) // c_null_char)
  end function

  ! A named optimizer (learning_rate <= 0: its default) and loss bound to the model.
  integer(c_int) function axon_optimizer_create(model, optimizer, learning_rate, loss, loss_flags, opt)
    type(c_ptr), intent(in) :: model
    character(len=*), intent(in) :: optimizer, loss
    real(c_double), intent(in) :: learning_rate
    integer(c_int), intent(in) :: loss_flags
    type(c_ptr), intent(out) :: opt
    axon_optimizer_create = c_optimizer_create(model, trim(optimizer) // c_null_char, learning_rate, &
                                               trim(loss) // c_null_char, loss_flags, opt)
  end function

  ! The C-order shape of a Fortran array: its dimensions reversed.
  integer(c_int) function wrap_f64(data, fshape, t)
    type(c_ptr), intent(in) :: data
    integer, intent(in) :: fshape(:)
    type(c_ptr), intent(out) :: t
    integer(c_int64_t) :: cshape(size(fshape))
    integer :: i, n
    n = size(fshape)
    do i = 1, n
      cshape(i) = int(fshape(n + 1 - i), c_int64_t)
    end do
    wrap_f64 = c_tensor_from_data(data, int(n, c_int), cshape, c_null_ptr, AXON_F64, AXON_CPU, 0_c_int, &
                                  c_null_funptr, c_null_ptr, t)
  end function

  integer(c_int) function wrap_r8_1(x, t)
    real(c_double), intent(inout), target, contiguous :: x(:)
    type(c_ptr), intent(out) :: t
    wrap_r8_1 = wrap_f64(c_loc(x), shape(x), t)
  end function

  integer(c_int) function wrap_r8_2(x, t)
    real(c_double), intent(inout), target, contiguous :: x(:, :)
    type(c_ptr), intent(out) :: t
    wrap_r8_2 = wrap_f64(c_loc(x), shape(x), t)
  end function

  integer(c_int) function wrap_r8_3(x, t)
    real(c_double), intent(inout), target, contiguous :: x(:, :, :)
    type(c_ptr), intent(out) :: t
    wrap_r8_3 = wrap_f64(c_loc(x), shape(x), t)
  end function

end module axon
