/* service.h — telling systemd how the service is (Type=notify).
 *
 *   [Service]
 *   Type=notify
 *   ExecStart=/usr/bin/seedancefs %f -f -o ...
 *
 * The sd_notify protocol without libsystemd: one datagram to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or "@name" in the abstract
 * namespace). Without $NOTIFY_SOCKET nothing is sent.
 */
#ifndef SEEDANCEFS_SERVICE_H
#define SEEDANCEFS_SERVICE_H

/* Sends `state` ("READY=1", "STOPPING=1", "RELOADING=1\nMONOTONIC_USEC=..",
 * "STATUS=...") to the service manager. Returns 1 when sent, 0 when there
 * is no manager, -errno when sending failed. */
int service_notify(const char *state);

#endif
