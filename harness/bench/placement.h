/* placement.h — how far apart the threads of a run sit: the time a cache
 * line takes from one thread to another. On a VM the host places the
 * vCPUs, and moves them. Measured on a 2-vCPU Zen 4 class VM, one process
 * after another: the two sat either on one L3 (27-34 ns one way) or on two
 * dies (164-185 ns), and 2 threads read DRAM at 27-32 GB/s on one L3 and
 * 39-44 GB/s on two — each die has its own link to memory. So a bandwidth
 * figure on several threads says where its threads were; two figures taken
 * in different places are not one machine's. */
#ifndef CK_PLACEMENT_H
#define CK_PLACEMENT_H

/* Two distances this far apart (the larger over the smaller) are two
 * places: an L3 apart from SMT siblings, dies apart from one L3, sockets
 * apart from dies — each step at least doubles it. */
#define CK_APART_RATIO 2.0

/* What a note about a move says after naming it. */
#define CK_PLACEMENT_WHY "where the threads sit sets the DRAM read (one L3, or two dies with a link to memory each)"

/* One-way ns of a cache line from thread 0 of a team of `threads` to its
 * farthest member (the least of several batches of round trips, so a
 * preempted batch does not count); 0 below 2 threads, with more threads
 * than online CPUs, without a thread team, or when a member was off its
 * CPU for a whole batch (the CPUs are shared with other work). About 1 ms
 * per member. */
double ck_threads_apart_ns(int threads);

/* 1 when both distances are known (> 0) and name different places
 * (CK_APART_RATIO), else 0. */
int ck_apart_moved(double a_ns, double b_ns);

#endif
