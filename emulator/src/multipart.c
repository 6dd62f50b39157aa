/*
 * multipart.c - a small multipart/form-data parser (RFC 7578): part names,
 * filenames and Content-Types from the part headers, data as pointers into
 * the (binary safe) body.
 */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* value of attribute `key` (e.g. name=) inside a header line; quoted or not */
static bool header_attr(const char *h, size_t hl, const char *key, char *out,
			size_t outsz)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i + kl < hl; i++) {
		size_t o = 0, j;

		if (strncasecmp(h + i, key, kl) != 0 || h[i + kl] != '=')
			continue;
		if (i > 0 && h[i - 1] != ' ' && h[i - 1] != ';' && h[i - 1] != '\t')
			continue;
		j = i + kl + 1;
		if (j < hl && h[j] == '"') {
			j++;
			while (j < hl && h[j] != '"' && o + 1 < outsz) {
				if (h[j] == '\\' && j + 1 < hl)
					j++;
				out[o++] = h[j++];
			}
		} else
			while (j < hl && h[j] != ';' && h[j] != '\r' && o + 1 < outsz)
				out[o++] = h[j++];
		out[o] = 0;
		return true;
	}
	return false;
}

/* splits a multipart body; returns number of parts or -1 if malformed */
int multipart_parse(const char *ct, const char *body, size_t len,
			   Part *parts, int maxparts)
{
	char bnd[256], delim[300];
	size_t dl, pos;
	const char *p;
	int n = 0;

	if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0 ||
	    !header_attr(ct, strlen(ct), "boundary", bnd, sizeof bnd) || !*bnd)
		return -1;
	dl = (size_t)snprintf(delim, sizeof delim, "--%s", bnd);
	p = memmem(body, len, delim, dl);
	if (!p)
		return -1;
	pos = (size_t)(p - body) + dl;
	for (;;) {
		const char *hend, *next, *line;
		Part *pt;

		if (pos + 2 <= len && memcmp(body + pos, "--", 2) == 0)
			return n;               /* closing delimiter */
		if (pos + 2 > len || memcmp(body + pos, "\r\n", 2) != 0)
			return -1;
		pos += 2;
		hend = memmem(body + pos, len - pos, "\r\n\r\n", 4);
		if (!hend)
			return -1;
		if (n == maxparts)
			return -1;
		pt = &parts[n];
		memset(pt, 0, sizeof *pt);
		for (line = body + pos; line < hend;) {
			const char *le = memmem(line, (size_t)(hend - line), "\r\n", 2);
			size_t ll = le ? (size_t)(le - line) : (size_t)(hend - line);

			if (ll > 20 && strncasecmp(line, "content-disposition:", 20) == 0) {
				header_attr(line, ll, "name", pt->name, sizeof pt->name);
				pt->has_filename = header_attr(line, ll, "filename",
							       pt->filename,
							       sizeof pt->filename);
			} else if (ll > 13 &&
				   strncasecmp(line, "content-type:", 13) == 0) {
				size_t o = 13, n;

				while (o < ll && (line[o] == ' ' || line[o] == '\t'))
					o++;
				n = ll - o < sizeof pt->content_type - 1
					    ? ll - o : sizeof pt->content_type - 1;
				memcpy(pt->content_type, line + o, n);
				pt->content_type[n] = 0;
			}
			line += ll + 2;
		}
		pos = (size_t)(hend - body) + 4;
		/* the part ends at CRLF + delimiter */
		{
			char d2[304];
			size_t d2l = (size_t)snprintf(d2, sizeof d2, "\r\n%s", delim);

			next = memmem(body + pos, len - pos, d2, d2l);
			if (!next)
				return -1;
			pt->data = body + pos;
			pt->len = (size_t)(next - (body + pos));
			pos = (size_t)(next - body) + d2l;
		}
		n++;
	}
}

