// ThreadRing: an io_uring owned by one event-loop thread (a server worker) for
// the device reads that thread starts.
//
// While a thread has its ring installed (Install), UringDevice::Read queues the
// read on that ring instead of the device's shared one. The thread submits
// everything it queued in one syscall per loop turn (Submit) and runs the
// completions itself when the ring's fd polls readable (Reap). A disk hit then
// costs no hand-off between threads: no reaper thread to wake, no completion
// queue to lock, no eventfd to signal the worker back. (Through the device's
// shared ring, each read woke its reaper thread and then the worker: two
// context switches per read on a 2-core machine.)
//
// Contract:
//  * single-threaded: every call is made on the owning thread (Current() is
//    thread-local); callbacks run inside Reap or Drain, on that thread;
//  * short transfers are resubmitted for the rest; EAGAIN/EINTR are retried;
//    an error or end of file is reported as kIoError, as Device requires;
//  * Drain() waits for every queued or in-flight read and runs its callback;
//    the destructor drains. A thread must drain before it exits: the engine
//    waits for its reads (stripe pins, Device::Shutdown).
//  * in flight at once: bounded by the owner (a worker starts at most
//    conn_inflight reads per connection); the submission queue holds `entries`
//    and is submitted early when full; the kernel keeps completions that
//    overflow the completion queue (IORING_FEAT_NODROP, Linux 5.5+).
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>

#include "coss/status.h"
#include "io/device.h"

namespace coss {

class ThreadRing {
 public:
  static Result<std::unique_ptr<ThreadRing>> Make(uint32_t entries);
  ~ThreadRing();
  ThreadRing(const ThreadRing&) = delete;
  ThreadRing& operator=(const ThreadRing&) = delete;

  // The ring installed on the calling thread, or null.
  static ThreadRing* Current();
  void Install();    // on the owning thread
  void Uninstall();  // drains first

  // What a read belongs to (the device): names the file in error messages
  // and is told once the read's callback has run. Must outlive its reads.
  class Owner {
   public:
    virtual const std::string& path() const = 0;
    virtual void ReadDone() = 0;

   protected:
    ~Owner() = default;
  };

  // Queues a read of len bytes at off from fd into buf; cb runs from Reap or
  // Drain, then owner->ReadDone().
  void Read(int fd, uint64_t off, void* buf, size_t len, IoCallback cb, Owner* owner);
  // Submits what Read queued (one syscall; nothing when nothing is queued).
  void Submit();
  // Runs the callbacks of the completions ready now; returns how many ran.
  size_t Reap();
  // Submits, then waits for and runs every read in flight.
  void Drain();

  int fd() const { return ring_.ring_fd; }  // pollable: readable when completions wait
  uint64_t inflight() const { return inflight_; }

 private:
  struct Op;
  ThreadRing() = default;
  io_uring_sqe* Sqe();
  void Prep(Op* op);
  void Complete(Op* op, int res);

  io_uring ring_{};
  uint32_t queued_ = 0;    // prepared, not yet submitted
  uint64_t inflight_ = 0;  // queued or submitted, callback not yet run
};

}  // namespace coss
