#include "common/checkpoint.h"
