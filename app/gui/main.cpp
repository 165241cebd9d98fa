// rudder: the GUI workbench.
#include <QApplication>
#include <QLabel>
#include <QMainWindow>

#include <qcustomplot.h>

#include "plot_style.h"
#include "rudder/runtime_init.h"

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName("Rudder");
    QApplication::setOrganizationName("Rudder");
    rudder::initTorchRuntime();

    QMainWindow w;
    w.setWindowTitle("Rudder — test-time alignment workbench");
    auto* plot = new QCustomPlot(&w);
    rudder::widgets::applyPlotStyle(plot);
    plot->xAxis->setLabel("samples");
    plot->yAxis->setLabel("reward");
    w.setCentralWidget(plot);
    w.resize(1280, 800);
    w.show();
    return app.exec();
}
