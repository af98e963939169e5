/* One size for every error buffer in the program.
 *
 * A function that can fail with a message takes `char *err` of ERRLEN bytes
 * and, on failure, writes one line into it that names the step, the object
 * (option, file, peer) and the reason.  Callers declare `char err[ERRLEN]`. */
#ifndef IPHTTPS_ERRBUF_H
#define IPHTTPS_ERRBUF_H

#define ERRLEN 512

#endif
