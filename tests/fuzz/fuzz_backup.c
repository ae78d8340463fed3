/*
 * certvault — fuzz target: backup blobs (POST /certificates/restore):
 * the blob's framing and sealing (open_blob in h_backup.c, under a fixed
 * test master key) and the backup document inside
 * (kv_json_backup_parse).  SPDX-License-Identifier: ISC
 *
 * A blob that is not sealed under the master key never reaches the
 * document parser, so the fuzzer cannot get there by mutating blobs;
 * mode 1 seals what it is given first, as a certvault with that master
 * key would have.  Input: one selector byte, then
 *   0  the plain backup document: kv_json_backup_parse, and a document
 *      that parses must build (kv_json_backup_build) into one that
 *      parses again (a restored certificate can be backed up again)
 *   1  the plain document, sealed into a blob and restored through
 *      kv_json_restore_parse, open_blob and kv_json_backup_parse
 *   2  the restore body as sent: kv_json_restore_parse and open_blob
 */
#include "config.h"

#include "certvault.h"
#include "crypto.h"
#include "kv.h"
#include "fuzz.h"

/* open_blob and seal_blob are static: take them with the file. */
#include "h_backup.c"

static struct cv_master	 master;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t	 i;

	fuzz_quiet();
	for (i = 0; i < CV_MASTER_KEY_LEN; i++)
		master.key[i] = (unsigned char)(0xa0 + i);
	snprintf(master.id, sizeof(master.id), "%s", "f0f0f0f0f0f0f0f0");
	return 0;
}

/* Parse the opened document; what parses must survive a round trip. */
static void
parse_doc(const struct cv_bytes *plain)
{
	struct cv_backup	 b, again;
	struct cv_bytes		 built;
	char			*msg = NULL;

	if (kv_json_backup_parse(plain, &b, &msg) != CV_OK) {
		FUZZ_ASSERT(msg != NULL);
		free(msg);
		return;
	}
	FUZZ_ASSERT(b.nkeys > 0 && b.nversions > 0);
	FUZZ_ASSERT(kv_json_backup_build(&b, &built) == CV_OK);
	if (kv_json_backup_parse(&built, &again, &msg) != CV_OK) {
		fprintf(stderr, "rebuilt backup does not parse: %s\n", msg);
		abort();
	}
	FUZZ_ASSERT(again.nkeys == b.nkeys && again.nversions == b.nversions);
	cv_backup_free(&again);
	cv_bytes_free(&built);
	cv_backup_free(&b);
}

/* A restore body as the client sends it: open the blob, parse inside. */
static void
restore(const char *body)
{
	struct cv_bytes	 plain = { NULL, 0 };
	char		*value = NULL, *msg = NULL;

	if (kv_json_restore_parse(body, &value, &msg) != CV_OK) {
		free(msg);
		return;
	}
	if (open_blob(&master, value, &plain) == CV_OK)
		parse_doc(&plain);
	cv_bytes_free(&plain);
	free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cv_bytes	 doc;
	char		*blob, *body;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	switch (data[0] % 3) {
	case 0:
		doc.data = cv_malloc(size - 1 + 1);
		memcpy(doc.data, data + 1, size - 1);
		doc.len = size - 1;
		parse_doc(&doc);
		cv_bytes_free(&doc);
		break;
	case 1:
		doc.data = cv_malloc(size - 1 + 1);
		memcpy(doc.data, data + 1, size - 1);
		doc.len = size - 1;
		FUZZ_ASSERT(seal_blob(&master, &doc, &blob) == CV_OK);
		body = cv_asprintf("{\"value\":\"%s\"}", blob);
		restore(body);
		free(body);
		free(blob);
		cv_bytes_free(&doc);
		break;
	case 2:
		body = fuzz_str(data + 1, size - 1);
		restore(body);
		free(body);
		break;
	}
	return 0;
}
