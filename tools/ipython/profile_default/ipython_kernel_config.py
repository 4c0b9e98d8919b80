# Kernel settings for executing and testing the lessons (IPYTHONDIR points here).
# TensorFlow's C++ runtime prints a line about CUDA drivers on import, before its
# logging honours TF_CPP_MIN_LOG_LEVEL. Those lines are written straight to file
# descriptor 2 and are not part of any lesson: do not capture fd-level output
# into cells. Python warnings still reach the cells (and fail the execution).
c = get_config()  # noqa: F821
c.IPKernelApp.capture_fd_output = False
c.HistoryManager.enabled = False
