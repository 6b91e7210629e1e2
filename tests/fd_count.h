#ifndef SBOX_TESTS_FD_COUNT_H_
#define SBOX_TESTS_FD_COUNT_H_

namespace sbox::testing {

// Descriptors open in this process right now, from /proc/self/fd; -1 if it cannot be read.
int CountOpenFds();

}  // namespace sbox::testing

#endif  // SBOX_TESTS_FD_COUNT_H_
