/*
 * pfo_server_cmd.c - `zeus pfo-server`: Perseus, Zeus's pipeline frequency optimizer server.
 * The server lives in pfo/server/ (static library zeus_pfo_server); this is its entry in the
 * command table.
 */
#include "cli.h"

#include "pfo_server.h"

int cli_pfo_server(int argc, char **argv)
{
    return pfo_server_main(argc, argv);
}
