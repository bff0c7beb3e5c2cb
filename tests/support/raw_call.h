// Test support: a gRPC call made of raw bytes, as a hostile client makes
// it: messages that need not decode, a request that never comes, a call
// held open. Asynchronous underneath, so a test can hold several at once
// and wait for each step with a bound.
#ifndef EVIDENTIA_TESTS_SUPPORT_RAW_CALL_H_
#define EVIDENTIA_TESTS_SUPPORT_RAW_CALL_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace evidentia::testing {

class RawCall {
 public:
  // Starts a call of `method` ("/evidentia.v1.Collector/Enroll") on
  // `channel`. Nothing is sent but the call's headers.
  RawCall(const std::shared_ptr<grpc::Channel>& channel,
          const std::string& method)
      : stub_(channel) {
    call_ = stub_.PrepareCall(&context_, method, &cq_);
    call_->StartCall(Tag(kStart));
    started_ = Await(kStart, absl::Seconds(30));
  }
  RawCall(const RawCall&) = delete;
  RawCall& operator=(const RawCall&) = delete;
  ~RawCall() {
    if (!finished_) {
      context_.TryCancel();
      Finish(absl::Seconds(30));
    }
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // Waits for the server's initial metadata: true when it sent it (the
  // collector does once it has admitted a call), false when the call ended
  // first or `wait` passed.
  bool AwaitHeaders(absl::Duration wait) {
    if (!started_) return false;
    call_->ReadInitialMetadata(Tag(kHeaders));
    return Await(kHeaders, wait);
  }

  // Sends `bytes` as one message; false when the call is over.
  bool Write(const std::string& bytes) {
    if (!started_) return false;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    call_->Write(buffer, Tag(kWrite));
    return Await(kWrite, absl::Seconds(30));
  }

  // The call's final status once the server ends it; if it has not within
  // `wait`, the client cancels and CANCELLED (from the client) is returned
  // with the message "not ended by the server".
  grpc::Status Finish(absl::Duration wait) {
    if (finished_) return status_;
    finished_ = true;
    call_->Finish(&status_, Tag(kFinish));
    if (!Await(kFinish, wait)) {
      context_.TryCancel();
      Await(kFinish, absl::Seconds(30));
      status_ =
          grpc::Status(grpc::StatusCode::CANCELLED, "not ended by the server");
    }
    return status_;
  }

 private:
  enum Step : intptr_t { kStart = 1, kHeaders, kWrite, kFinish };
  static void* Tag(Step step) { return reinterpret_cast<void*>(step); }

  // Waits for `step`; other completions (none are outstanding in the
  // sequences above but the one awaited) are ignored.
  bool Await(Step step, absl::Duration wait) {
    const auto deadline =
        std::chrono::system_clock::now() + absl::ToChronoMilliseconds(wait);
    for (;;) {
      void* tag = nullptr;
      bool ok = false;
      const auto got = cq_.AsyncNext(&tag, &ok, deadline);
      if (got != grpc::CompletionQueue::GOT_EVENT) return false;
      if (tag == Tag(step)) return ok;
    }
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  grpc::Status status_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_RAW_CALL_H_
