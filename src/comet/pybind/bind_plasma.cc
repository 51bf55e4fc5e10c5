// Python binding of the plasma client: comet._raylet.PlasmaClient and
// PlasmaBuffer, a zero-copy view of an object's bytes in shared memory whose
// store reference is released when the last view of it is garbage collected.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/comet/object_manager/plasma/client.h"
#include "src/comet/pybind/plasma_buffer.h"
#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

using plasma::PlasmaClient;

ObjectID ToObjectId(const py::bytes& id) {
  absl::StatusOr<ObjectID> parsed = ObjectID::FromBinary(std::string(id));
  ThrowIfError(parsed.status(), ErrorDomain::kPlasma);
  return *parsed;
}

std::shared_ptr<PlasmaClient> Connect(const std::string& socket_path, const std::string& name) {
  absl::StatusOr<std::shared_ptr<PlasmaClient>> client;
  {
    py::gil_scoped_release release;
    client = PlasmaClient::Connect(socket_path, name);
  }
  ThrowIfError(client.status(), ErrorDomain::kPlasma);
  return *client;
}

py::memoryview Create(const std::shared_ptr<PlasmaClient>& client, const py::bytes& id_bytes,
                      int64_t data_size, int64_t metadata_size, bool primary) {
  if (data_size < 0 || metadata_size < 0) throw py::value_error("sizes must not be negative");
  ObjectID id = ToObjectId(id_bytes);
  absl::StatusOr<plasma::MutableObjectBuffer> buf;
  {
    py::gil_scoped_release release;
    buf = client->Create(id, static_cast<uint64_t>(data_size), static_cast<uint64_t>(metadata_size),
                         primary);
  }
  ThrowIfError(buf.status(), ErrorDomain::kPlasma);
  return PlasmaView(client, id, buf->data, buf->data_size, std::string(), /*writable=*/true);
}

void Put(const std::shared_ptr<PlasmaClient>& client, const py::bytes& id_bytes,
         const py::buffer& data, const py::bytes& metadata, bool primary) {
  ObjectID id = ToObjectId(id_bytes);
  py::buffer_info info = data.request();
  if (info.ndim > 1 && info.strides.back() != info.itemsize) {
    throw py::value_error("put needs a contiguous buffer");
  }
  std::string meta(metadata);
  absl::string_view bytes(static_cast<const char*>(info.ptr),
                          static_cast<size_t>(info.size * info.itemsize));
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = client->Put(id, bytes, meta, primary);
  }
  ThrowIfError(status, ErrorDomain::kPlasma);
}

py::list Get(const std::shared_ptr<PlasmaClient>& client, const std::vector<py::bytes>& id_bytes,
             int64_t timeout_ms) {
  std::vector<ObjectID> ids;
  ids.reserve(id_bytes.size());
  for (const py::bytes& b : id_bytes) ids.push_back(ToObjectId(b));
  absl::StatusOr<std::vector<std::optional<plasma::ObjectBuffer>>> bufs;
  {
    py::gil_scoped_release release;
    bufs = client->Get(ids, timeout_ms);
  }
  ThrowIfError(bufs.status(), ErrorDomain::kPlasma);
  py::list out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& buf = (*bufs)[i];
    if (!buf.has_value()) {
      out.append(py::none());
      continue;
    }
    std::string metadata(reinterpret_cast<const char*>(buf->metadata), buf->metadata_size);
    out.append(PlasmaView(client, ids[i], const_cast<uint8_t*>(buf->data), buf->data_size,
                          std::move(metadata), /*writable=*/false));
  }
  return out;
}

template <typename F>
auto Unlocked(F&& fn) {
  py::gil_scoped_release release;
  return fn();
}

py::dict StatsDict(const plasma::StoreStats& s) {
  py::dict d;
  d["capacity"] = s.capacity;
  d["used_bytes"] = s.used_bytes;
  d["fallback_bytes"] = s.fallback_bytes;
  d["num_objects"] = s.num_objects;
  d["num_sealed"] = s.num_sealed;
  d["num_evictions"] = s.num_evictions;
  d["bytes_evicted"] = s.bytes_evicted;
  d["num_fallback_allocations"] = s.num_fallback_allocations;
  d["num_pending_creates"] = s.num_pending_creates;
  d["num_clients"] = s.num_clients;
  return d;
}

}  // namespace

PlasmaBuffer::~PlasmaBuffer() {
  py::gil_scoped_release release;
  // The store already dropped our reference if the connection is gone.
  client_->Release(id_).IgnoreError();
}

py::buffer_info PlasmaBuffer::Info() const {
  return py::buffer_info(data_, 1, py::format_descriptor<uint8_t>::format(), 1,
                         {static_cast<py::ssize_t>(size_)}, {1}, !writable_);
}

py::memoryview PlasmaView(std::shared_ptr<plasma::PlasmaClient> client, const ObjectID& id,
                          uint8_t* data, uint64_t size, std::string metadata, bool writable) {
  py::object owner = py::cast(std::make_unique<PlasmaBuffer>(std::move(client), id, data, size,
                                                             std::move(metadata), writable));
  return py::memoryview(py::reinterpret_steal<py::object>(PyMemoryView_FromObject(owner.ptr())));
}

void BindPlasma(py::module_& m) {
  py::class_<PlasmaBuffer>(m, "PlasmaBuffer", py::buffer_protocol(),
                           "One reference to a plasma object, viewed without copying. The "
                           "store reference is released when this buffer is collected.")
      .def_buffer(&PlasmaBuffer::Info)
      .def_property_readonly("object_id", &PlasmaBuffer::object_id)
      .def_property_readonly("metadata", &PlasmaBuffer::metadata)
      .def_property_readonly("size", &PlasmaBuffer::size);

  py::class_<PlasmaClient, std::shared_ptr<PlasmaClient>>(
      m, "PlasmaClient", "A connection to a node's plasma shared-memory object store.")
      .def(py::init(&Connect), py::arg("socket_path"), py::arg("name") = "",
           "Connects to the store listening on `socket_path`.")
      .def_property_readonly("capacity", &PlasmaClient::capacity)
      .def("create", &Create, py::arg("object_id"), py::arg("data_size"),
           py::arg("metadata_size") = 0, py::arg("primary") = false,
           "Creates an object and returns a writable memoryview of its data. Fill it, "
           "then seal(); the reference is released when the view is collected. A "
           "primary copy is never evicted; it stays until deleted.")
      .def(
          "seal",
          [](PlasmaClient& c, const py::bytes& id) {
            ObjectID oid = ToObjectId(id);
            ThrowIfError(Unlocked([&] { return c.Seal(oid); }), ErrorDomain::kPlasma);
          },
          py::arg("object_id"), "Makes a created object immutable and visible to readers.")
      .def(
          "abort",
          [](PlasmaClient& c, const py::bytes& id) {
            ObjectID oid = ToObjectId(id);
            ThrowIfError(Unlocked([&] { return c.Abort(oid); }), ErrorDomain::kPlasma);
          },
          py::arg("object_id"), "Discards a created, unsealed object.")
      .def("put", &Put, py::arg("object_id"), py::arg("data"), py::arg("metadata") = py::bytes(),
           py::arg("primary") = false,
           "Creates, fills, seals and releases an object in one call.")
      .def("get", &Get, py::arg("object_ids"), py::arg("timeout_ms") = -1,
           "Returns one read-only memoryview per id (None where the object was not sealed "
           "within timeout_ms; negative waits forever). Nothing is copied.")
      .def(
          "contains",
          [](PlasmaClient& c, const py::bytes& id) {
            ObjectID oid = ToObjectId(id);
            absl::StatusOr<bool> has = Unlocked([&] { return c.Contains(oid); });
            ThrowIfError(has.status(), ErrorDomain::kPlasma);
            return *has;
          },
          py::arg("object_id"), "Whether a sealed object with this id is in the store.")
      .def(
          "delete",
          [](PlasmaClient& c, const std::vector<py::bytes>& ids) {
            std::vector<ObjectID> oids;
            for (const py::bytes& b : ids) oids.push_back(ToObjectId(b));
            auto result = Unlocked([&] { return c.Delete(oids); });
            ThrowIfError(result.status(), ErrorDomain::kPlasma);
            for (const absl::Status& s : *result) ThrowIfError(s, ErrorDomain::kPlasma);
          },
          py::arg("object_ids"),
          "Deletes sealed objects (at once, or when their last reference goes).")
      .def(
          "list",
          [](PlasmaClient& c) {
            auto result = Unlocked([&] { return c.List(); });
            ThrowIfError(result.status(), ErrorDomain::kPlasma);
            py::list out;
            for (const auto& o : *result) {
              py::dict d;
              d["object_id"] = py::bytes(o.id.Binary());
              d["data_size"] = o.data_size;
              d["metadata_size"] = o.metadata_size;
              d["sealed"] = o.sealed;
              d["ref_count"] = o.ref_count;
              d["fallback"] = o.fallback;
              out.append(d);
            }
            return out;
          },
          "Every object in the store with its sizes, state and reference count.")
      .def(
          "stats",
          [](PlasmaClient& c) {
            auto result = Unlocked([&] { return c.Stats(); });
            ThrowIfError(result.status(), ErrorDomain::kPlasma);
            return StatsDict(*result);
          },
          "Store-wide counters: capacity, used and fallback bytes, evictions, clients.")
      .def(
          "disconnect", [](PlasmaClient& c) { Unlocked([&] { c.Disconnect(); }); },
          "Closes the connection; the store releases everything this client held.");
}

}  // namespace comet::pybind
