/* The monotonic clock in milliseconds, for deadlines and durations. */
#ifndef CP_CLOCK_H
#define CP_CLOCK_H

long long	clock_ms(void);

#endif
