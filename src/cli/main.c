/* main.c — placeholder entry until the commands land. */
#include <stdio.h>
int main(void)
{
    puts("llmtrace " LT_VERSION);
    return 0;
}
