#include "collector/oscal.h"
