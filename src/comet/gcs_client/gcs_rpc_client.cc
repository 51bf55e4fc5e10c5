#include "src/comet/gcs_client/gcs_rpc_client.h"

#include "src/comet/rpc/client_pool.h"

namespace comet::gcs_client {

GcsRpcClient::GcsRpcClient(GcsClientOptions options)
    : options_(std::move(options)),
      server_name_("the GCS at " + options_.address),
      channel_(rpc::MakeChannel(options_.address, options_.auth)),
      nodes_(rpc::NodeInfoGcsService::NewStub(channel_)),
      resources_(rpc::NodeResourceInfoGcsService::NewStub(channel_)),
      jobs_(rpc::JobInfoGcsService::NewStub(channel_)),
      actors_(rpc::ActorInfoGcsService::NewStub(channel_)),
      groups_(rpc::PlacementGroupInfoGcsService::NewStub(channel_)),
      kv_(rpc::InternalKVGcsService::NewStub(channel_)),
      pubsub_(rpc::InternalPubSubGcsService::NewStub(channel_)),
      workers_(rpc::WorkerInfoGcsService::NewStub(channel_)),
      tasks_(rpc::TaskInfoGcsService::NewStub(channel_)) {}

}  // namespace comet::gcs_client
