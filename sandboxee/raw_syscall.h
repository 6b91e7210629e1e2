#ifndef SBOX_SANDBOXEE_RAW_SYSCALL_H_
#define SBOX_SANDBOXEE_RAW_SYSCALL_H_

// A syscall without libc, for the code between fork (or clone) and exec: it returns -errno
// instead of setting errno. errno lives in the launching thread's TLS, which the exec path's
// child shares (CLONE_VM): that code must not write it. x86_64 only.

namespace sbox::sandboxee {

inline long Raw(long number, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
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

}  // namespace sbox::sandboxee

#endif  // SBOX_SANDBOXEE_RAW_SYSCALL_H_
