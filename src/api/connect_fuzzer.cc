// Fuzz target for the Connect request decoder (the bytes of every push and
// query request): proto or JSON, plain or gzip, into the push and querier
// request messages; a decoded message must re-encode in both codecs.
#include <cstdint>
#include <string_view>

#include "api/connect.h"
#include "api/push/v1/push.pb.h"
#include "api/querier/v1/querier.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::api;
  if (size < 1) return 0;
  // First byte: codec, compression and message; the rest is the body.
  const uint8_t mode = data[0];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  ConnectCodec codec = (mode & 1) ? ConnectCodec::kJson : ConnectCodec::kProto;
  std::string_view encoding = (mode & 2) ? "gzip" : "";
  push::v1::PushRequest push;
  querier::v1::SelectSeriesRequest series;
  google::protobuf::Message* msg = (mode & 4) ? static_cast<google::protobuf::Message*>(&series)
                                              : static_cast<google::protobuf::Message*>(&push);
  if (DecodeConnectRequest(codec, body, encoding, msg, 1 << 20).ok()) {
    EncodeConnectResponse(ConnectCodec::kJson, *msg);
    EncodeConnectResponse(ConnectCodec::kProto, *msg);
  }
  return 0;
}
