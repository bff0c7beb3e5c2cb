#include "common/merkle.h"
