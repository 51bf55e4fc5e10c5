// IoThread: one boost::asio::io_context and the one std::thread that runs it.
//
// Ownership: IoThread owns the io_context, a work guard that keeps run() from
// returning while idle, and the thread. Objects bound to io_context() (timers,
// sockets) must be destroyed before the IoThread, or after Stop() on the
// stopping thread.
// Threads: Start(), Stop(), Post() and RunSync() are safe from any thread;
// everything posted runs on the IoThread's thread, in posting order. Stop()
// abandons handlers that have not started; RunSync() must not race with
// Stop(). Stop() and the destructor must not be called on the IoThread's own
// thread.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "src/comet/common/logging.h"

namespace comet {

class IoThread {
 public:
  // `name` becomes the OS thread name (truncated to 15 characters).
  explicit IoThread(std::string name = "comet_io");
  ~IoThread();  // Stop()

  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  // Starts the thread. Idempotent while running; restarts after Stop().
  void Start();

  // Stops the io_context and joins the thread. Idempotent.
  void Stop();

  bool IsRunning() const;

  // True when called on this IoThread's thread.
  bool IsCurrentThread() const;

  boost::asio::io_context& io_context() { return io_context_; }

  // Queues `fn` to run on the thread; `fn` may be move-only.
  template <typename F>
  void Post(F&& fn) {
    boost::asio::post(io_context_, std::forward<F>(fn));
  }

  // Runs `fn` on the thread and blocks until it returns, forwarding its result
  // (or exception). Called on the IoThread's own thread, runs `fn` inline.
  // The thread must be running.
  template <typename F>
  std::invoke_result_t<F> RunSync(F&& fn) {
    if (IsCurrentThread()) return std::forward<F>(fn)();
    COMET_CHECK(IsRunning()) << "RunSync on stopped IoThread " << name_;
    // Shared so the task's state outlives the handler even after get() wakes.
    auto task = std::make_shared<std::packaged_task<std::invoke_result_t<F>()>>(
        std::forward<F>(fn));
    auto result = task->get_future();
    Post([task] { (*task)(); });
    return result.get();
  }

 private:
  using WorkGuard =
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  void Run();

  const std::string name_;
  boost::asio::io_context io_context_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> running_{false};

  // Serializes Start() and Stop().
  mutable absl::Mutex mu_;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<WorkGuard> work_guard_ ABSL_GUARDED_BY(mu_);
};

}  // namespace comet
