#include "collector/transparency_log.h"
