//! Ring creation: probe the setup flags this kernel accepts, fall back, and explain failures.

use io_uring::IoUring;

use crate::runtime::BuildError;

#[derive(Clone, Debug)]
pub(crate) struct RingConfig {
    pub(crate) entries: u32,
    pub(crate) cq_entries: Option<u32>,
    /// Opcodes treated as missing even if the kernel has them, so the syscall fallbacks of
    /// older kernels can be tested on this one (`Builder::hide_opcodes_for_testing`).
    pub(crate) hidden_opcodes: OpcodeSet,
    /// Completion coalescing for parks (`Builder::coalesce_completions`): wait for this many
    /// completions, but for no longer than the window once it has passed since parking.
    pub(crate) coalesce: Option<(u32, std::time::Duration)>,
    /// Most completions handled per look at the ring after a sleep (`max_io_events_per_tick`)
    /// and per look while tasks are waiting to run (`max_io_events_per_busy_tick`); the rest
    /// wait in the completion queue for the next look.
    pub(crate) events_per_tick: u32,
    pub(crate) events_per_busy_tick: u32,
    /// What a failed cleanup does, and the runtime's count of them (shared by its rings).
    pub(crate) cleanup: super::cleanup::CleanupPolicy,
}

/// A set of io_uring opcodes (256 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OpcodeSet([u64; 4]);

impl OpcodeSet {
    pub(crate) const ALL: OpcodeSet = OpcodeSet([u64::MAX; 4]);

    pub(crate) fn insert(&mut self, code: u8) {
        self.0[code as usize / 64] |= 1 << (code % 64);
    }

    pub(crate) fn contains(&self, code: u8) -> bool {
        self.0[code as usize / 64] & (1 << (code % 64)) != 0
    }

    fn without(mut self, other: &OpcodeSet) -> OpcodeSet {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a &= !b;
        }
        self
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RingFeatures {
    /// SINGLE_ISSUER (with DEFER_TASKRUN): the ring starts disabled and is enabled by its thread.
    pub(crate) single_issuer: bool,
    /// The kernel raises IORING_SQ_TASKRUN when completion work is pending.
    pub(crate) taskrun_flag: bool,
    /// The opcodes this kernel supports (IORING_REGISTER_PROBE), less the hidden ones.
    pub(crate) opcodes: OpcodeSet,
    /// IORING_FEAT_MIN_TIMEOUT (Linux 6.12): a wait can name a minimum time after which any
    /// completion ends it (`min_wait_usec`).
    pub(crate) min_timeout: bool,
}

/// The opcodes the kernel behind `ring` knows. Should the probe itself fail, every opcode is
/// assumed present and an op the kernel lacks fails with EINVAL, which the callers that have a
/// fallback also accept.
fn probe_opcodes(ring: &IoUring) -> OpcodeSet {
    let mut probe = io_uring::Probe::new();
    if ring.submitter().register_probe(&mut probe).is_err() {
        return OpcodeSet::ALL;
    }
    let mut set = OpcodeSet::default();
    for code in 0..=u8::MAX {
        if probe.is_supported(code) {
            set.insert(code);
        }
    }
    set
}

/// The setup-flag sets tried in order, best first. Each entry: (single_issuer+defer, coop+taskrun_flag, submit_all).
const ATTEMPTS: [(bool, bool, bool); 3] = [
    (true, true, true),
    (false, true, true),
    (false, false, false),
];

pub(crate) fn build_ring(config: &RingConfig) -> Result<(IoUring, RingFeatures), BuildError> {
    let mut last_err = None;
    for (single_issuer, coop, submit_all) in ATTEMPTS {
        let mut builder = IoUring::builder();
        if let Some(cq) = config.cq_entries {
            builder.setup_cqsize(cq);
        }
        if single_issuer {
            builder
                .setup_single_issuer()
                .setup_defer_taskrun()
                .setup_r_disabled();
        }
        if coop {
            builder.setup_coop_taskrun().setup_taskrun_flag();
        }
        if submit_all {
            builder.setup_submit_all();
        }
        match builder.build(config.entries) {
            Ok(ring) => {
                let params = ring.params();
                if !params.is_feature_nodrop() || !params.is_feature_ext_arg() {
                    return Err(BuildError::kernel_too_old(
                        "the kernel's io_uring lacks IORING_FEAT_NODROP or IORING_FEAT_EXT_ARG",
                    ));
                }
                let features = RingFeatures {
                    single_issuer,
                    taskrun_flag: coop,
                    opcodes: probe_opcodes(&ring).without(&config.hidden_opcodes),
                    min_timeout: params.is_feature_min_timeout(),
                };
                return Ok((ring, features));
            }
            // EINVAL: this kernel does not know one of the flags (or rejects the sizes); try
            // fewer flags, and report the last EINVAL if nothing works.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last_err = Some(e),
            Err(e) => return Err(BuildError::from_setup(e, config)),
        }
    }
    Err(BuildError::from_setup(
        last_err.expect("at least one attempt"),
        config,
    ))
}
