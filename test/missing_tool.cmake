# Run as a ctest test (cmake -DMSG=... -P missing_tool.cmake) in place of a
# test whose tool was not found at configure time: fails, saying what to
# install, so that a missing tool never shrinks the suite unseen.
# SPDX-License-Identifier: MIT
message(FATAL_ERROR "${MSG}")
