#include "collector/bundle_verify.h"
