/*
 * certvault — JSON Web Signatures for ACME (RFC 7515, 7518, 8555).
 * SPDX-License-Identifier: ISC
 */
#include "config.h"

#include "crypto.h"
#include "crypto_int.h"
