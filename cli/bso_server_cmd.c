/*
 * bso_server_cmd.c - `zeus bso-server`: Zeus's batch size optimizer server. The server lives
 * in bso/server/ (static library zeus_bso_server); this is its entry in the command table.
 */
#include "cli.h"

#include "bso_server.h"

int cli_bso_server(int argc, char **argv)
{
    return bso_server_main(argc, argv);
}
