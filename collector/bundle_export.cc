#include "collector/bundle_export.h"
