// The HTTP headers Reprise adds: on the endpoint's answers and on every
// webhook call (docs/transports.md#http).
#pragma once

namespace reprise::http {

// The record's id: of the inbound record an endpoint answer is about, of the
// outbound record a webhook call sends.
inline constexpr char kRecordIdHeader[] = "Reprise-Record-Id";
// On a reflowed copy's webhook call: the message it copies, and the job.
inline constexpr char kOriginHeader[] = "Reprise-Origin";
inline constexpr char kJobHeader[] = "Reprise-Job";

}  // namespace reprise::http
