//! Ring creation: probe the setup flags this kernel accepts, fall back, and explain failures.

use io_uring::IoUring;

use crate::runtime::BuildError;

#[derive(Clone, Copy, Debug)]
pub(crate) struct RingConfig {
    pub(crate) entries: u32,
    pub(crate) cq_entries: Option<u32>,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RingFeatures {
    /// SINGLE_ISSUER (with DEFER_TASKRUN): the ring starts disabled and is enabled by its thread.
    pub(crate) single_issuer: bool,
    /// The kernel raises IORING_SQ_TASKRUN when completion work is pending.
    pub(crate) taskrun_flag: bool,
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
