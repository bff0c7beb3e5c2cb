#include "collector/report.h"
