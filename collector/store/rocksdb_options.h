// The RocksDB options of the collector's store: what RocksDbStore opens
// every table with, and what offline tools (benches) must open it with so
// that their compactions lay data out as the collector would.
#ifndef EVIDENTIA_COLLECTOR_STORE_ROCKSDB_OPTIONS_H_
#define EVIDENTIA_COLLECTOR_STORE_ROCKSDB_OPTIONS_H_

#include "rocksdb/env.h"
#include "rocksdb/options.h"

namespace evidentia::collector {

// `env` may be null (the default environment).
rocksdb::Options StoreRocksDbOptions(rocksdb::Env* env);

}  // namespace evidentia::collector

#endif  // EVIDENTIA_COLLECTOR_STORE_ROCKSDB_OPTIONS_H_
