// Worker: one event-loop thread (epoll) serving a set of connections.
//
// Contract:
//  * every Connection is created, used and destroyed on its worker's thread;
//  * each worker has its own io_uring (io/thread_ring.h), installed on its
//    thread: the store's device reads it starts (io_uring backend) are
//    submitted once per loop turn and complete on this thread, so a disk hit
//    is delivered inline with no hand-off. The loop drains the ring before it
//    exits (the engine waits for those reads when it closes);
//  * store reads that complete on an engine I/O thread (the thread-pool
//    backend, or a worker without a ring) are handed back with
//    DeliverRead (thread-safe): queued under a mutex and signalled through an
//    eventfd. The queue holds at most one entry per store read issued by this
//    worker's connections, i.e. it is bounded by conn_inflight x connections;
//    a read that completes inline (RAM or membuf hit, miss) is delivered
//    directly on the worker thread;
//  * new connections are taken from the shared listening socket (EPOLLEXCLUSIVE
//    wakes one worker) and dealt round-robin over all workers, as memcached's
//    dispatcher does: the worker that accepts hands each socket to its turn's
//    worker (Adopt, thread-safe: queued under the same mutex; at most one
//    entry per connection slot, so bounded by -c). Without the hand-off, the
//    first worker awake took a burst of connections for itself and served
//    them alone while the other idled. Above the -c limit a client gets
//    memcached's "ERROR Too many open connections" and is closed;
//  * --idle-timeout N: a connection that moved no byte for N seconds while none
//    of its requests ran is closed (counted in idle_kicks);
//  * RequestDrain: stop accepting, let each connection finish the requests it
//    already received, flush replies, close; the loop ends when no connection
//    is left or after shutdown_timeout_s (then the rest are closed).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "io/thread_ring.h"
#include "server/connection.h"
#include "server/context.h"
#include "server/metrics.h"
#include "server/store.h"

namespace coss::server {

class Worker {
 public:
  Worker(int index, ServerContext* ctx);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool Init(std::string* err);
  void Start(int listen_fd);
  void RequestDrain();
  void RequestStop();
  void Join();
  bool finished() const { return finished_.load(); }

  // Thread-safe; see the contract above.
  void DeliverRead(uint64_t conn, uint64_t seq, uint32_t key_index, ReadResult r);
  // Thread-safe: a write of request `seq` is durable (same queue, same bound:
  // one entry per write awaiting its journal sync).
  void DeliverDurable(uint64_t conn, uint64_t seq, const Status& st);
  // Thread-safe: takes over an accepted socket that already holds a
  // connection slot (see the contract above).
  void Adopt(int fd);

  WorkerMetrics* metrics() { return &metrics_; }

  // On this worker's thread: request `seq` of connection `conn` waits for its
  // write to be written (Persistence::kWritten, --write-ack written). Such
  // waits are collected over the loop turn and settled before its replies go
  // out, with one journal write per shard on this thread (Store::
  // WriteJournalHere: no hand-off to the journal's thread and back); a shard
  // whose journal cannot be written here without waiting falls back to
  // Store::WhenPersisted.
  void OweJournal(uint64_t conn, uint64_t seq, const WriteTicket& t) {
    owed_.push_back({conn, seq, t});
  }

  // On this worker's thread: pump connection `id` again before the next wait
  // for events (it stopped with work left that no event will announce).
  void Repump(uint64_t id) { touched_.push_back(id); }

 private:
  struct Completion {
    uint64_t conn;
    uint64_t seq;
    uint32_t key_index;
    bool durable;  // a durability notice, not a read
    ReadResult result;
  };
  void Post(Completion c);
  void Wake();  // makes the loop's epoll_wait return (the eventfd)
  // Nothing queued for the loop by other threads (completions, adopted sockets).
  bool InboxEmptyLocked() const { return queue_.empty() && adopted_.empty(); }  // REQUIRES: mu_
  struct Entry {
    std::unique_ptr<Connection> conn;
    uint32_t events = 0;
  };

  void Run();
  void AcceptAll();
  bool TakeConnectionSlot();
  void Open(int fd);  // on this worker's thread
  void RefuseAdopted(int fd);
  void CloseIdle(uint32_t timeout);
  void HandleWake();
  void Update(uint64_t id);
  void Close(uint64_t id);
  void StartDrain();
  void SettleOwedJournal();  // see OweJournal

  int index_;
  ServerContext* ctx_;
  std::chrono::steady_clock::time_point next_idle_sweep_{};
  WorkerMetrics metrics_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::unique_ptr<ThreadRing> ring_;  // null when io_uring is not available
  int listen_fd_ = -1;
  std::thread thread_;
  std::unordered_map<uint64_t, Entry> conns_;
  std::vector<uint64_t> touched_;  // connections to pump before the next wait
  struct Owed {
    uint64_t conn, seq;
    WriteTicket ticket;
  };
  // Writes awaiting kWritten (OweJournal): at most one per write awaiting its
  // acknowledgement, so bounded by conn_inflight x connections.
  std::vector<Owed> owed_;
  uint64_t current_ = 0;  // connection being run now (0: none)
  uint64_t next_id_ = 16;

  std::mutex mu_;
  std::vector<Completion> queue_;
  std::vector<int> adopted_;  // sockets handed over by the accepting worker
  bool exited_ = false;       // the loop has ended: Adopt refuses (GUARDED_BY mu_)
  std::atomic<bool> drain_requested_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> finished_{false};
  bool draining_ = false;
};

}  // namespace coss::server
