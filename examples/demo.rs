//! The main demo: spawn, join, work stealing across workers, sleep, a chain, a batch and a
//! multishot tick.

use std::time::{Duration, Instant};

use futures::StreamExt;
use ringolo::driver::ops::{Nop, Read, Write};
use ringolo::driver::Operation;
use ringolo::time::{sleep, Tick};
use ringolo::{Op, OpList};

/// Two kinds of op in one chain, through an enum.
enum PipeOp {
    Write(Write),
    Read(Read),
}

// SAFETY: each variant forwards to an op whose own impl upholds the contract.
unsafe impl Operation for PipeOp {
    type Output = (std::io::Result<usize>, Vec<u8>);
    fn build(&mut self) -> io_uring::squeue::Entry {
        match self {
            PipeOp::Write(w) => w.build(),
            PipeOp::Read(r) => r.build(),
        }
    }
    fn complete(self, result: std::io::Result<ringolo::driver::Completion>) -> Self::Output {
        match self {
            PipeOp::Write(w) => w.complete(result),
            PipeOp::Read(r) => r.complete(result),
        }
    }
}

#[ringolo::main]
async fn main() {
    let start = Instant::now();

    // spawn + join
    let handles: Vec<_> = (0..4u64)
        .map(|i| ringolo::spawn(async move { i * i }))
        .collect();
    let mut squares = Vec::new();
    for h in handles {
        squares.push(h.await.expect("task failed"));
    }
    println!("spawned 4 tasks, joined: {squares:?}");

    // work stealing: #[ringolo::main] builds a multi-thread runtime (one worker per CPU, each
    // with its own io_uring); 2,000 short tasks spawned from one task spread over the workers
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let fan_out = {
        let seen = seen.clone();
        ringolo::spawn(async move {
            let tasks: Vec<_> = (0..2000)
                .map(|_| {
                    let seen = seen.clone();
                    ringolo::spawn(async move {
                        let t = Instant::now();
                        while t.elapsed() < Duration::from_micros(20) {
                            std::hint::spin_loop();
                        }
                        let w = ringolo::runtime::worker_index();
                        *seen.lock().unwrap().entry(w).or_insert(0) += 1;
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("task failed");
            }
        })
    };
    fan_out.await.expect("fan-out failed");
    println!("2000 tasks by worker: {:?}", seen.lock().unwrap());

    // sleep
    let t = Instant::now();
    sleep(Duration::from_millis(50)).await;
    println!("slept 50 ms (measured {:?})", t.elapsed());

    // single op
    Op::new(Nop).await.expect("nop");
    println!("a single NOP op completed");

    // chain: write into a pipe, then read it back, kernel-ordered by IOSQE_IO_LINK
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let chain = OpList::chain([
        PipeOp::Write(Write::new(fds[1], b"hello, ring".to_vec(), u64::MAX)),
        PipeOp::Read(Read::new(fds[0], Vec::with_capacity(64), u64::MAX)),
    ]);
    let results = chain.await;
    let (n, buf) = &results[1];
    println!(
        "chain write -> read: read {:?} bytes: {:?}",
        n,
        String::from_utf8_lossy(buf)
    );

    // batch: 32 NOPs submitted together, completing in any order
    let batch = OpList::batch((0..32).map(|_| Nop)).await;
    println!(
        "batch of {} NOPs: all ok = {}",
        batch.len(),
        batch.iter().all(|r| r.is_ok())
    );

    // multishot: one kernel timeout SQE, five completions
    let t = Instant::now();
    let ticks: Vec<_> = Tick::with_count(Duration::from_millis(20), 5)
        .collect()
        .await;
    println!("multishot tick: {} ticks in {:?}", ticks.len(), t.elapsed());

    // SAFETY: closing the fds pipe2 gave us.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    println!("demo finished in {:?}", start.elapsed());
}
