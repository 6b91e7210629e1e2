#ifndef SBOX_KERNEL_RAW_SYSCALL_H_
#define SBOX_KERNEL_RAW_SYSCALL_H_

// A syscall without libc, for code that runs in a signal handler or between fork (or clone)
// and exec: it never touches errno, which a child cloned with CLONE_VM shares with the
// launching thread, and returns -errno on failure. x86-64 only, as sbox is.

namespace sbox::kernel {

inline long RawSyscall(long number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                       long a5 = 0) {
  long result;
  register long r10 asm("r10") = a3;
  register long r8 asm("r8") = a4;
  register long r9 asm("r9") = a5;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return result;
}

template <typename T>
long Ptr(T* pointer) {
  return reinterpret_cast<long>(pointer);
}

}  // namespace sbox::kernel

#endif  // SBOX_KERNEL_RAW_SYSCALL_H_
