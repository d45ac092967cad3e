use std::fmt;
use std::io;

use crate::driver::RingConfig;

/// Why a runtime could not be built. The message names the cause and the fix.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
    message: String,
    source: Option<io::Error>,
}

/// The class of a [`BuildError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// The kernel has no io_uring, or one too old for ringolo (ENOSYS).
    Unsupported,
    /// io_uring is disabled by sysctl or blocked by a seccomp profile (EPERM).
    PermissionDenied,
    /// Not enough (locked) memory for the ring (ENOMEM).
    OutOfMemory,
    /// The kernel rejected the ring parameters (EINVAL).
    InvalidConfig,
    /// The process is out of file descriptors (EMFILE / ENFILE).
    TooManyOpenFiles,
    /// Anything else.
    Other,
}

impl BuildError {
    /// The class of the failure.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }

    /// The OS error behind it, if any.
    pub fn os_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }

    pub(crate) fn kernel_too_old(what: &str) -> BuildError {
        BuildError {
            kind: BuildErrorKind::Unsupported,
            message: format!("{what}. ringolo needs Linux 5.11 or newer with io_uring enabled; upgrade the kernel"),
            source: None,
        }
    }

    pub(crate) fn invalid(message: String) -> BuildError {
        BuildError {
            kind: BuildErrorKind::InvalidConfig,
            message,
            source: None,
        }
    }

    pub(crate) fn other(message: String, source: io::Error) -> BuildError {
        BuildError {
            kind: BuildErrorKind::Other,
            message,
            source: Some(source),
        }
    }

    pub(crate) fn from_setup(err: io::Error, config: &RingConfig) -> BuildError {
        let (kind, message) = match err.raw_os_error() {
            Some(libc::ENOSYS) => (
                BuildErrorKind::Unsupported,
                "this kernel does not implement io_uring (io_uring_setup returned ENOSYS). ringolo needs \
                 Linux 5.11 or newer built with CONFIG_IO_URING=y; upgrade the kernel"
                    .to_string(),
            ),
            Some(libc::EPERM) => (
                BuildErrorKind::PermissionDenied,
                "io_uring_setup was refused (EPERM). Either the sysctl kernel.io_uring_disabled is 1 or 2 \
                 (check `sysctl kernel.io_uring_disabled`; set it to 0, or to 1 and add this user to the \
                 group named by kernel.io_uring_group), or a seccomp profile blocks io_uring: Docker's \
                 default profile does, so run the container with a profile that allows io_uring_setup, \
                 io_uring_enter and io_uring_register (e.g. --security-opt seccomp=unconfined)"
                    .to_string(),
            ),
            Some(libc::ENOMEM) => (
                BuildErrorKind::OutOfMemory,
                format!(
                    "not enough memory to map an io_uring of {} entries (ENOMEM). Kernels before 5.12 \
                     charge rings to RLIMIT_MEMLOCK: raise it (`ulimit -l`, LimitMEMLOCK= in systemd, \
                     --ulimit memlock in Docker), or ask for fewer entries with Builder::entries",
                    config.entries
                ),
            ),
            Some(libc::EINVAL) => (
                BuildErrorKind::InvalidConfig,
                format!(
                    "the kernel rejected the ring parameters (EINVAL): entries = {}, cq_entries = {}. \
                     entries must be between 1 and 32768, and cq_entries at least entries and at most \
                     65536; adjust Builder::entries / Builder::cq_entries",
                    config.entries,
                    config.cq_entries.map_or("default".to_string(), |c| c.to_string())
                ),
            ),
            Some(libc::EMFILE | libc::ENFILE) => (
                BuildErrorKind::TooManyOpenFiles,
                "out of file descriptors while creating the io_uring (EMFILE/ENFILE); close some or raise \
                 the limit with `ulimit -n`"
                    .to_string(),
            ),
            _ => (BuildErrorKind::Other, format!("io_uring_setup failed: {err}")),
        };
        BuildError {
            kind,
            message,
            source: Some(err),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ringolo: cannot start the runtime: {}", self.message)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

impl From<BuildError> for io::Error {
    fn from(e: BuildError) -> io::Error {
        let kind = match e.kind {
            BuildErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            BuildErrorKind::OutOfMemory => io::ErrorKind::OutOfMemory,
            BuildErrorKind::InvalidConfig => io::ErrorKind::InvalidInput,
            BuildErrorKind::Unsupported => io::ErrorKind::Unsupported,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}
