// Writes the seed corpora of the binary-format fuzz targets (checkpoint,
// TFRecord, chunk streams, tf.train.Example records, JPEG) with the
// project's own writers, so the seeds are real files in each target's input
// format. The committed fuzz/corpus/ was made by
//
//   bazel run //fuzz:write_seeds -- $PWD/fuzz/corpus
//
// (text seeds: fuzz/corpus/README.md). Each run writes the same bytes.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint.h"
#include "common/coding.h"
#include "common/records/image_example.h"
#include "common/records/jpeg_restarts.h"
#include "common/records/tfrecord.h"
#include "common/rpc/chunk_coding.h"
#include "common/tensor.h"
#include "data/test_images.h"
#include "fuzz/fuzz_support.h"
#include "protos/ps_service.pb.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using testing::MakeTestJpeg;
using testing::TestJpegKind;

std::string g_out;  // the corpus directory

void Seed(const std::string& target, const std::string& name, absl::string_view bytes) {
  const std::string dir = g_out + "/" + target;
  fs::create_directories(dir);
  fuzz::WriteFileOrDie(dir + "/" + name, bytes);
  std::printf("%s/%s: %zu bytes\n", target.c_str(), name.c_str(), bytes.size());
}

std::string ReadAll(const std::string& path) {
  std::string bytes;
  FILE* f = std::fopen(path.c_str(), "rb");
  FUZZ_CHECK(f != nullptr, path);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) bytes.append(buffer, n);
  std::fclose(f);
  return bytes;
}

std::vector<std::string> Records(const std::string& path) {
  auto reader = TFRecordReader::Open(path);
  FUZZ_CHECK(reader.ok(), reader.status().ToString());
  std::vector<std::string> records;
  std::string record;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->ReadRecord(&record);
    FUZZ_CHECK(more.ok(), more.status().ToString());
    if (!*more) return records;
    records.push_back(record);
  }
}

void PutLengthPrefixed(std::string* out, absl::string_view bytes) {
  FUZZ_CHECK(bytes.size() < 65536, "seed piece too long");
  PutFixed16(out, static_cast<uint16_t>(bytes.size()));
  out->append(bytes.data(), bytes.size());
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  FUZZ_CHECK(buffer.Dump(&slices).ok(), "Dump");
  std::string out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// One wire message of fuzz/chunk_stream.h: control byte, 3-byte length, bytes.
void PutWireMessage(std::string* out, uint8_t control, absl::string_view bytes) {
  out->push_back(static_cast<char>(control));
  PutFixed16(out, static_cast<uint16_t>(bytes.size() & 0xffff));
  out->push_back(static_cast<char>(bytes.size() >> 16));
  out->append(bytes.data(), bytes.size());
}

std::string Chunk(const ChunkHeader& header, const std::vector<float>& values) {
  return Flatten(EncodeChunk(header, values.data(), values.size() * sizeof(float), nullptr));
}

std::vector<float> Ramp(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.01f * static_cast<float>(i % 100);
  return v;
}

// ---- TFRecord files.
void TfRecordSeeds(const std::string& scratch) {
  const std::string path = scratch + "/records";
  auto writer = TFRecordWriter::Create(path);
  FUZZ_CHECK(writer.ok(), writer.status().ToString());
  for (absl::string_view r : {"", "a", "hello, records"}) FUZZ_CHECK((*writer)->Write(r).ok(), "");
  FUZZ_CHECK((*writer)->Close().ok(), "");
  // tfrecord_fuzzer: a mode byte (bits 0-1: repair the CRCs), then the file.
  const std::string three = ReadAll(path);
  Seed("tfrecord_fuzzer", "three_records", std::string(1, '\0') + three);
  Seed("tfrecord_fuzzer", "three_records_repaired", std::string(1, '\3') + three);
  Seed("tfrecord_fuzzer", "truncated_tail",
       std::string(1, '\0') + three.substr(0, three.size() - 3));
  Seed("tfrecord_fuzzer", "empty", std::string(1, '\0'));
}

// ---- Checkpoints.
void CheckpointSeeds(const std::string& scratch) {
  CheckpointContents contents;
  contents.metadata.global_step = 12;
  contents.metadata.model_fingerprint = "0123456789abcdef";
  contents.metadata.optimizer = "adam";
  contents.metadata.train_config = "batch_size: 4";
  CheckpointVariable w;
  w.name = "dense/w";
  w.value = Tensor({2, 3}, Ramp(6));
  w.slots["m"] = Tensor({2, 3}, Ramp(6));
  w.slots["v"] = Tensor({2, 3}, Ramp(6));
  contents.variables.push_back(w);
  CheckpointVariable mean;
  mean.name = "bn/moving_mean";
  mean.kind = MOVING_AVERAGE;
  mean.value = Tensor({3}, Ramp(3));
  contents.variables.push_back(mean);
  CheckpointVariable empty;
  empty.name = "empty";
  empty.value = Tensor({0, 4});
  contents.variables.push_back(empty);

  for (const int64_t step : {int64_t{1}, int64_t{12}}) {
    const std::string dir = absl::StrCat(scratch, "/ckpt", step);
    fs::create_directories(dir);
    contents.metadata.global_step = step;
    CheckpointWriteOptions options;
    options.max_chunk_bytes = 16;  // tensors in several records
    auto name = SaveCheckpoint(dir, contents, options);
    FUZZ_CHECK(name.ok(), name.status().ToString());
    const std::string index = ReadAll(CheckpointIndexPath(dir, *name));
    const std::string data = ReadAll(CheckpointDataPath(dir, *name));
    if (step == 1) {  // mode 0: the files as they are (the target names them ckpt-1)
      std::string raw(1, '\0');
      PutLengthPrefixed(&raw, index);
      raw += data;
      Seed("checkpoint_fuzzer", "raw_files", raw);
      continue;
    }
    // Mode 1: the payloads, framed by the target; mode 3: with a state file.
    const std::vector<std::string> index_records = Records(CheckpointIndexPath(dir, *name));
    std::string framed(1, '\1');
    PutLengthPrefixed(&framed, index_records.at(0));
    std::string records;
    for (const std::string& r : Records(CheckpointDataPath(dir, *name))) {
      PutLengthPrefixed(&records, r);
    }
    Seed("checkpoint_fuzzer", "framed", framed + records);
    std::string with_state(1, '\3');
    PutLengthPrefixed(&with_state, index_records.at(0));
    PutLengthPrefixed(&with_state,
                      "latest_checkpoint: \"ckpt-12\"\n"
                      "checkpoints { name: \"ckpt-10\" global_step: 10 }\n"
                      "checkpoints { name: \"ckpt-12\" global_step: 12 write_time_micros: 5 }\n"
                      "last_preserved_time_micros: 1\n");
    Seed("checkpoint_fuzzer", "framed_with_state", with_state + records);
  }
}

// ---- Chunk streams.
ChunkHeader Header(const std::string& block, int64_t offset, int64_t elements, ChunkKind kind) {
  ChunkHeader h;
  h.set_block(block);
  h.set_offset(offset);
  h.set_block_elements(elements);
  h.set_kind(kind);
  h.set_fingerprint("0123456789abcdef");
  h.set_worker_task(1);
  h.set_step(3);
  return h;
}

// Chunks of `elements` values of `block` (slot `slot`), `per_chunk` at a time.
void PutTensor(std::string* out, const std::string& block, const std::string& slot,
               int64_t elements, int64_t per_chunk, ChunkKind kind, uint8_t control) {
  const std::vector<float> values = Ramp(elements);
  for (int64_t offset = 0; offset < elements; offset += per_chunk) {
    const int64_t n = std::min(per_chunk, elements - offset);
    ChunkHeader h = Header(block, offset, elements, kind);
    h.set_slot(slot);
    h.set_increment_global_step(true);
    h.set_version(4);
    h.set_global_step(9);
    h.set_incarnation(77);
    PutWireMessage(out, control,
                   Chunk(h, std::vector<float>(values.begin() + offset, values.begin() + offset + n)));
  }
}

void ChunkSeeds() {
  // ps side (fuzz/ps_chunk_fuzzer.cc): setup byte, then messages.
  std::string gradient(1, '\x10');  // ASYNC, SGD, initialized
  PutTensor(&gradient, "w", "", 12, 5, GRADIENT, 1);
  PutTensor(&gradient, "b", "", 3, 3, GRADIENT, 0x80 | 2);  // ends the push
  PullRequest pull;
  pull.set_fingerprint("0123456789abcdef");
  pull.add_blocks("b");
  pull.add_blocks("w");
  PutWireMessage(&gradient, 0x40, pull.SerializeAsString());
  Seed("ps_chunk_fuzzer", "gradient_push_then_pull", gradient);

  std::string big(1, '\x1c');  // ASYNC, Adagrad, initialized
  PutTensor(&big, "big", "", 17000, 16500, GRADIENT, 3);  // crosses PushSession's pieces
  Seed("ps_chunk_fuzzer", "big_gradient", big);

  std::string assign(1, '\x08');  // ASYNC, Adam, not yet initialized: the chief's restore
  PutTensor(&assign, "w", "", 12, 12, ASSIGN, 0);
  PutTensor(&assign, "w", "m", 12, 7, ASSIGN, 1);
  PutTensor(&assign, "w", "v", 12, 12, ASSIGN, 4);
  PutTensor(&assign, "b", "", 3, 3, ASSIGN, 0x80);
  Seed("ps_chunk_fuzzer", "assign_with_slots", assign);

  std::string sync(1, '\x11');  // SYNC, SGD, initialized
  PutTensor(&sync, "b", "", 3, 1, GRADIENT, 0x80);
  PutTensor(&sync, "b", "", 3, 3, GRADIENT, 0x80 | 2);
  Seed("ps_chunk_fuzzer", "sync_two_pushes", sync);

  // Worker side (fuzz/client_chunk_fuzzer.cc): setup byte, then messages.
  std::string pull_answer(1, '\0');
  PutTensor(&pull_answer, "w", "", 12, 5, VALUES, 1);
  PutTensor(&pull_answer, "b", "", 3, 3, VALUES, 6);
  PutTensor(&pull_answer, "big", "", 17000, 9000, VALUES, 3);
  Seed("client_chunk_fuzzer", "pull_answer", pull_answer);

  // The same answer in the pull's shared segment (setup bit 3): headers only,
  // each naming its place in the fuzzer's segment (id 0x5e6).
  std::string shared_answer(1, '\x08');
  int64_t place = 0;
  for (auto [block, elements, per_chunk] : std::vector<std::tuple<const char*, int64_t, int64_t>>{
           {"w", 12, 5}, {"b", 3, 3}, {"big", 17000, 9000}}) {
    for (int64_t offset = 0; offset < elements; offset += per_chunk) {
      const int64_t n = std::min(per_chunk, elements - offset);
      ChunkHeader h = Header(block, offset, elements, VALUES);
      h.set_version(4);
      h.set_global_step(9);
      h.set_incarnation(77);
      h.set_segment(0x5e6);
      h.set_segment_offset(place);
      h.set_segment_bytes(n * 4);
      place += n * 4;
      PutWireMessage(&shared_answer, 1, Chunk(h, {}));
    }
  }
  Seed("client_chunk_fuzzer", "pull_answer_in_shared_segment", shared_answer);

  std::string snapshot(1, '\1');
  PutTensor(&snapshot, "w", "", 12, 12, VALUES, 0);
  PutTensor(&snapshot, "w", "m", 12, 4, VALUES, 2);
  PutTensor(&snapshot, "b", "", 3, 3, VALUES, 0);
  Seed("client_chunk_fuzzer", "snapshot_answer", snapshot);
}

// ---- Images.
void ImageSeeds() {
  struct Jpeg {
    const char* name;
    TestJpegKind kind;
    int height, width;
  };
  const Jpeg jpegs[] = {{"rgb420_16x12", TestJpegKind::kRgb420, 12, 16},
                        {"rgb444_8x8", TestJpegKind::kRgb444, 8, 8},
                        {"grey_9x17", TestJpegKind::kGrey, 9, 17},
                        {"cmyk_8x8", TestJpegKind::kCmyk, 8, 8},
                        {"progressive_16x16", TestJpegKind::kProgressive, 16, 16}};
  uint8_t flags = 0x1f;  // the default decode options, crop inside the image
  for (const Jpeg& j : jpegs) {
    const std::string jpeg = MakeTestJpeg(j.kind, j.height, j.width, /*quality=*/50, /*seed=*/1);
    FUZZ_CHECK(!jpeg.empty() && jpeg.size() < 1000, j.name);
    // jpeg_fuzzer: flags, crop (y, x, h, w as fractions), output size, JPEG.
    std::string input(1, static_cast<char>(flags));
    for (uint16_t v : {0x1000, 0x2000, 0xc000, 0xffff}) PutFixed16(&input, v);
    input += "\x08\x08";
    Seed("jpeg_fuzzer", j.name, input + jpeg);
    flags ^= 0x0b;  // vary fast DCT, fast upsampling, partial decode
    // As tessera_records stores it: restart markers, which the decoder cuts at.
    if (j.kind == TestJpegKind::kRgb420) {
      const std::string big = MakeTestJpeg(j.kind, 40, 48, /*quality=*/50, /*seed=*/1);
      absl::StatusOr<std::string> marked = AddRestartMarkers(big, "seed");
      FUZZ_CHECK(marked.ok() && marked->size() < 1500, "restart markers");
      std::string cut(1, static_cast<char>(0x1f));
      for (uint16_t v : {0x4000, 0x3000, 0x4000, 0x4000}) PutFixed16(&cut, v);
      Seed("jpeg_fuzzer", "restarts_40x48", cut + "\x08\x08" + *marked);
    }

    // example_fuzzer: setup byte, then the record.
    ImageExample example;
    example.encoded = jpeg;
    example.height = j.height;
    example.width = j.width;
    example.label = 3;
    example.synset = "n01440764";
    example.text = "tench, Tinca tinca";
    example.filename = absl::StrCat(j.name, ".JPEG");
    if (j.kind == TestJpegKind::kRgb420) {
      example.bbox_xmin = {0.1f, 0.5f};
      example.bbox_ymin = {0.2f, 0.0f};
      example.bbox_xmax = {0.6f, 1.0f};
      example.bbox_ymax = {0.9f, 0.5f};
      example.bbox_label = {3, 3};
    }
    const std::string record = SerializeImageExample(example);
    Seed("example_fuzzer", absl::StrCat(j.name, "_train"), std::string("\x31") + record);
    Seed("example_fuzzer", absl::StrCat(j.name, "_eval"), std::string("\x22") + record);
  }
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_seeds CORPUS_DIR\n");
    return 2;
  }
  tessera::g_out = argv[1];
  const std::string scratch = tessera::fuzz::ScratchDir();
  tessera::TfRecordSeeds(scratch);
  tessera::CheckpointSeeds(scratch);
  tessera::ChunkSeeds();
  tessera::ImageSeeds();
  std::filesystem::remove_all(scratch);
  return 0;
}
