#include "src/comet/common/io_thread.h"

#include <pthread.h>

namespace comet {

IoThread::IoThread(std::string name) : name_(std::move(name)) {}

IoThread::~IoThread() { Stop(); }

void IoThread::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  io_context_.restart();
  work_guard_ =
      std::make_unique<WorkGuard>(boost::asio::make_work_guard(io_context_));
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void IoThread::Stop() {
  absl::MutexLock lock(&mu_);
  if (!thread_.joinable()) return;
  COMET_CHECK(!IsCurrentThread())
      << "IoThread " << name_ << " stopped from its own thread";
  running_ = false;
  work_guard_.reset();
  io_context_.stop();
  thread_.join();
  thread_id_ = std::thread::id();
}

bool IoThread::IsRunning() const { return running_; }

bool IoThread::IsCurrentThread() const {
  return thread_id_.load() == std::this_thread::get_id();
}

void IoThread::Run() {
  thread_id_ = std::this_thread::get_id();
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  io_context_.run();
}

}  // namespace comet
