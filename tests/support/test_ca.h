// Test support: what a Registry needs to enrol agents since mutual TLS — a
// CA to issue client certificates with, and a certificate request to send.
#ifndef EVIDENTIA_TESTS_SUPPORT_TEST_CA_H_
#define EVIDENTIA_TESTS_SUPPORT_TEST_CA_H_

#include <string>

#include "absl/time/time.h"
#include "collector/identity/registry.h"
#include "common/x509.h"
#include "gtest/gtest.h"

namespace evidentia::testing {

// Gives `registry` a fresh CA; returns it.
inline KeyAndCert GiveTestCa(collector::Registry& registry) {
  absl::StatusOr<KeyAndCert> ca =
      CreateCertificateAuthority("Evidentia test CA", absl::Hours(24));
  EXPECT_TRUE(ca.ok()) << ca.status();
  if (!ca.ok()) return {};
  registry.set_certificate_authority(*ca);
  return *ca;
}

// A certificate request for a fresh TLS key, as an agent sends at enrolment.
inline std::string TestCsr() {
  absl::StatusOr<KeyAndCsr> request = CreateCertificateRequest("agent");
  EXPECT_TRUE(request.ok()) << request.status();
  return request.ok() ? request->csr_pem : "";
}

}  // namespace evidentia::testing

#endif  // EVIDENTIA_TESTS_SUPPORT_TEST_CA_H_
