// rudder: the GUI workbench.  Starts on the embedded demo models; when they are missing or fail
// to load the window still opens and the Models panel says why.
#include <QApplication>

#include "main_window.h"
#include "rudder/runtime_init.h"

int main(int argc, char** argv)
{
    rudder::preferPassiveOpenMP(argv);
    QApplication app(argc, argv);
    QApplication::setApplicationName("Rudder");
    QApplication::setOrganizationName("Rudder");
    rudder::initTorchRuntime();
    QString session;
    const QStringList args = QApplication::arguments();
    if (args.size() > 1) session = args[1];   // rudder [SESSION.rudder]
    rudder::gui::MainWindow w(session);
    w.show();
    w.loadModels(true);   // a missing demo model is reported in the Models panel, not a dialog
    return app.exec();
}
