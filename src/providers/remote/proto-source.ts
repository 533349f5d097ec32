/**
 * The .proto files of this directory as strings, so that the compiled
 * package (lib/, which tsc fills with .js only) can load them without the
 * source tree. test/providers/remote-proto.test.ts checks they match the
 * files; regenerate by copying the files in when editing them.
 */

/** provider.proto: package provider.v1. */
export const PROVIDER_PROTO = `// VirtRigaud remote provider protocol (package provider.v1), written from
// the protocol tables of the API inventory (§15). Field numbers are the
// wire contract with the Go provider pods; note CreateRequest.meta_data = 9.
syntax = "proto3";

package provider.v1;

option go_package = "github.com/projectbeskar/virtrigaud/proto/rpc/provider/v1;providerv1";

service Provider {
  rpc Validate(ValidateRequest) returns (ValidateResponse);
  rpc Create(CreateRequest) returns (CreateResponse);
  rpc Delete(DeleteRequest) returns (TaskResponse);
  rpc Power(PowerRequest) returns (TaskResponse);
  rpc Reconfigure(ReconfigureRequest) returns (TaskResponse);
  rpc HardwareUpgrade(HardwareUpgradeRequest) returns (TaskResponse);
  rpc Describe(DescribeRequest) returns (DescribeResponse);
  rpc TaskStatus(TaskStatusRequest) returns (TaskStatusResponse);
  rpc SnapshotCreate(SnapshotCreateRequest) returns (SnapshotCreateResponse);
  rpc SnapshotDelete(SnapshotDeleteRequest) returns (TaskResponse);
  rpc SnapshotRevert(SnapshotRevertRequest) returns (TaskResponse);
  rpc Clone(CloneRequest) returns (CloneResponse);
  rpc ImagePrepare(ImagePrepareRequest) returns (ImagePrepareResponse);
  rpc GetCapabilities(GetCapabilitiesRequest) returns (GetCapabilitiesResponse);
  rpc ExportDisk(ExportDiskRequest) returns (ExportDiskResponse);
  rpc ImportDisk(ImportDiskRequest) returns (ImportDiskResponse);
  rpc GetDiskInfo(GetDiskInfoRequest) returns (GetDiskInfoResponse);
  rpc ListVMs(ListVMsRequest) returns (ListVMsResponse);
}

enum PowerOp {
  POWER_OP_UNSPECIFIED = 0;
  POWER_OP_ON = 1;
  POWER_OP_OFF = 2;
  POWER_OP_REBOOT = 3;
  POWER_OP_SHUTDOWN_GRACEFUL = 4;
}

message TaskRef { string id = 1; }
message Empty {}
message ValidateRequest {}
message ValidateResponse { bool ok = 1; string message = 2; }

message CreateRequest {
  string name = 1;
  bytes meta_data = 9;
  bytes user_data = 2;
  string class_json = 3;
  string image_json = 4;
  string networks_json = 5;
  string disks_json = 6;
  string placement_json = 7;
  repeated string tags = 8;
}
message CreateResponse { string id = 1; TaskRef task = 2; }

message DeleteRequest { string id = 1; }
message PowerRequest { string id = 1; PowerOp op = 2; int32 graceful_timeout_seconds = 3; }
message ReconfigureRequest { string id = 1; string desired_json = 2; }
message HardwareUpgradeRequest { string id = 1; int32 target_version = 2; }
message TaskResponse { TaskRef task = 1; }

message DescribeRequest { string id = 1; }
message DescribeResponse {
  bool exists = 1;
  string power_state = 2;
  repeated string ips = 3;
  string console_url = 4;
  string provider_raw_json = 5;
}

message TaskStatusRequest { TaskRef task = 1; }
message TaskStatusResponse { bool done = 1; string error = 2; }

message SnapshotCreateRequest { string vm_id = 1; string name_hint = 2; bool include_memory = 3; string description = 4; }
message SnapshotCreateResponse { string snapshot_id = 1; TaskRef task = 2; }
message SnapshotDeleteRequest { string vm_id = 1; string snapshot_id = 2; }
message SnapshotRevertRequest { string vm_id = 1; string snapshot_id = 2; }

message CloneRequest {
  string source_vm_id = 1;
  string target_name = 2;
  bool linked = 3;
  string class_json = 4;
  string placement_json = 5;
  string customize_json = 6;
}
message CloneResponse { string target_vm_id = 1; TaskRef task = 2; }

message ImagePrepareRequest { string image_json = 1; string target_name = 2; string storage_hint = 3; }
message ImagePrepareResponse { TaskRef task = 1; string prepared_image_id = 2; string prepared_image_path = 3; }

message ExportDiskRequest {
  string vm_id = 1;
  string disk_id = 2;
  string snapshot_id = 3;
  string destination_url = 4;
  string format = 5;
  bool compress = 6;
  map<string, string> credentials = 7;
  string backend_type = 8;
  string transfer_mode = 9;
  string storage_options_json = 10;
}
message ExportDiskResponse { string export_id = 1; TaskRef task = 2; int64 estimated_size_bytes = 3; string checksum = 4; }

message ImportDiskRequest {
  string source_url = 1;
  string storage_hint = 2;
  string format = 3;
  string target_name = 4;
  bool verify_checksum = 5;
  string expected_checksum = 6;
  map<string, string> credentials = 7;
  string backend_type = 8;
  string transfer_mode = 9;
  string storage_options_json = 10;
}
message ImportDiskResponse { string disk_id = 1; string path = 2; TaskRef task = 3; int64 actual_size_bytes = 4; string checksum = 5; }

message GetDiskInfoRequest { string vm_id = 1; string disk_id = 2; string snapshot_id = 3; }
message GetDiskInfoResponse {
  string disk_id = 1;
  string format = 2;
  int64 virtual_size_bytes = 3;
  int64 actual_size_bytes = 4;
  string path = 5;
  bool is_bootable = 6;
  repeated string snapshots = 7;
  string backing_file = 8;
  map<string, string> metadata = 9;
}

message ListVMsRequest {}
message ListVMsResponse { repeated VMInfo vms = 1; }
message VMInfo {
  string id = 1;
  string name = 2;
  string power_state = 3;
  repeated string ips = 4;
  int32 cpu = 5;
  int64 memory_mib = 6;
  repeated DiskInfo disks = 7;
  repeated NetworkInfo networks = 8;
  map<string, string> provider_raw = 9;
}
message DiskInfo { string id = 1; string path = 2; int32 size_gib = 3; string format = 4; }
message NetworkInfo { string name = 1; string mac = 2; string ip_address = 3; }

message GetCapabilitiesRequest {}
message GetCapabilitiesResponse {
  bool supports_reconfigure_online = 1;
  bool supports_disk_expansion_online = 2;
  bool supports_snapshots = 3;
  bool supports_memory_snapshots = 4;
  bool supports_linked_clones = 5;
  bool supports_image_import = 6;
  repeated string supported_disk_types = 7;
  repeated string supported_network_types = 8;
  bool supports_disk_export = 9;
  bool supports_disk_import = 10;
  repeated string supported_export_formats = 11;
  repeated string supported_import_formats = 12;
  bool supports_export_compression = 13;
  repeated string supported_export_backends = 14;
  repeated string supported_import_backends = 15;
  repeated string supported_transfer_modes = 16;
}
`;

/** health.proto: package grpc.health.v1. */
export const HEALTH_PROTO = `// The standard gRPC health service (grpc.health.v1), as registered by the
// VirtRigaud provider SDK server next to provider.v1.Provider.
syntax = "proto3";

package grpc.health.v1;

message HealthCheckRequest { string service = 1; }

message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}

service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`;
