//! SIGKILL during a chat storm: see loadgen::crash.
